"""nftables through libnftables (ctypes): one JSON batch = one atomic
transaction, no `nft` process per change.

libnftables talks netlink in the network namespace it opened its socket in,
so contexts are created, and batches run, with the thread inside the host
namespace this engine manages.

Batches of only set/map elements (published ports) skip libnftables: they go
as the same nfnetlink messages over a socket kept open in that namespace
(nftsock.py, netlink/nftables.py), ~0.05 ms instead of ~0.2-0.45 ms.
"""

import ctypes
import errno
import json
import socket

from ..errors import KernelError, PermissionDenied
from .netlink import nftables
from .netlink.nlsocket import RequestError
from .nftsock import Wire
from .nsfs import inside

NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_HANDLE = 1 << 3
NFT_CTX_OUTPUT_JSON = 1 << 4  # also makes nft_run_cmd_from_buffer accept JSON input

SONAME = "libnftables.so.1"
_lib = None


def _load():
    global _lib
    if _lib is None:
        lib = _open_library()
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        _lib = lib
    return _lib


def _open_library():
    """By the soname the dynamic loader knows; find_library (which runs
    `ldconfig -p`: ~3 ms, and imports tempfile and shutil) only if that fails."""
    try:
        return ctypes.CDLL(SONAME, use_errno=True)
    except OSError:
        pass
    from ctypes.util import find_library

    try:
        return ctypes.CDLL(find_library("nftables") or SONAME, use_errno=True)
    except OSError:
        raise KernelError("libnftables is not installed (apt-get install nftables)")


class Nft:
    """nsnet's hold on one network namespace's (None: the caller's) firewall:
    a libnftables context, an nfnetlink socket for element batches, and a small
    stock of unbound sockets made there (port probes), all kept until close()."""

    STOCK = 8  # sockets made per visit to the namespace

    def __init__(self, netns: str | None):
        self.netns = netns
        self._ctx = None
        self._wire = None
        self._stock: dict[tuple[int, int], list] = {}
        self.committed = False  # a batch went to the kernel: closing our sockets soon after waits (handover.py)

    def probe_socket(self, kind: int, family: int = socket.AF_INET) -> socket.socket:
        """A new, unbound socket of this namespace with SO_REUSEADDR set (an IPv6
        one IPv6-only) for bind probes: made in batches, so a probe does not pay
        for entering the namespace (open, setns, setns back) each time."""
        stock = self._stock.setdefault((family, kind), [])
        if not stock:
            with inside(self.netns):
                stock.extend(socket.socket(family, kind) for _ in range(self.STOCK))
            for sock in stock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        return stock.pop()

    def _context(self):
        if self._ctx is None:
            lib = _load()
            ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT)
            lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            self._ctx = ctx
        return self._ctx

    def _elements(self, commands) -> bool:
        """Element-only batch over nfnetlink; False: not handled (nothing sent)."""
        if self._wire is None:
            try:
                with inside(self.netns):
                    self._wire = Wire()
            except OSError:
                return False  # no nfnetlink socket here: libnftables will say why
        try:
            self.committed = True
            self._wire.run(commands)
        except nftables.Unsupported:
            return False
        except RequestError as exc:
            if exc.code == errno.EPERM:
                raise PermissionDenied(f"nftables: {exc} (run as root)")
            raise KernelError(f"nftables: Error: Could not process rule: {exc}", exc.code)
        return True

    def run(self, payload) -> dict | None:
        """Run a JSON batch ({"nftables": [...]}) or a text command; returns the
        decoded JSON output (for list commands) or None."""
        if not isinstance(payload, str):
            commands = nftables.element_commands(payload)
            if commands is not None and self._elements(commands):
                return None
        if self._wire is not None and not (isinstance(payload, str) and payload.startswith("list ")):
            # this batch may redefine sets: ask the kernel for their types again
            self._wire.forget_sets()
        text = payload if isinstance(payload, str) else json.dumps(payload)
        with inside(self.netns):
            ctx = self._context()
            self.committed = self.committed or not text.startswith("list ")
            rc = _lib.nft_run_cmd_from_buffer(ctx, text.encode())
            out = _lib.nft_ctx_get_output_buffer(ctx) or b""
            err = _lib.nft_ctx_get_error_buffer(ctx) or b""
        if rc != 0:
            message = err.decode(errors="replace").strip().splitlines()
            first = message[0] if message else "nft command failed"
            if "Operation not permitted" in first:
                raise PermissionDenied(f"nftables: {first} (run as root)")
            raise KernelError(f"nftables: {first}")
        return json.loads(out) if out.strip() else None

    def close(self):
        for stock in self._stock.values():
            for sock in stock:
                sock.close()
        self._stock.clear()
        if self._wire is not None:
            self._wire.close()
            self._wire = None
        if self._ctx is not None:
            _lib.nft_ctx_free(self._ctx)
            self._ctx = None
