"""nftables through libnftables (ctypes): one JSON batch = one atomic
transaction, no `nft` process per change.

libnftables talks netlink in the network namespace it opened its socket in,
so contexts are created, and batches run, with the thread inside the host
namespace this engine manages.
"""

import ctypes
import json

from ..errors import KernelError, PermissionDenied
from . import nsfs

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
    """A libnftables context bound to one network namespace (None: the caller's)."""

    def __init__(self, netns: str | None):
        self.netns = netns
        self._ctx = None

    def _context(self):
        if self._ctx is None:
            lib = _load()
            ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT)
            lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            self._ctx = ctx
        return self._ctx

    def run(self, payload) -> dict | None:
        """Run a JSON batch ({"nftables": [...]}) or a text command; returns the
        decoded JSON output (for list commands) or None."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        fd = nsfs.open_fd(self.netns) if self.netns else None
        try:
            with nsfs.entered(fd):
                ctx = self._context()
                rc = _lib.nft_run_cmd_from_buffer(ctx, text.encode())
                out = _lib.nft_ctx_get_output_buffer(ctx) or b""
                err = _lib.nft_ctx_get_error_buffer(ctx) or b""
        finally:
            if fd is not None:
                import os

                os.close(fd)
        if rc != 0:
            message = err.decode(errors="replace").strip().splitlines()
            first = message[0] if message else "nft command failed"
            if "Operation not permitted" in first:
                raise PermissionDenied(f"nftables: {first} (run as root)")
            raise KernelError(f"nftables: {first}")
        return json.loads(out) if out.strip() else None

    def close(self):
        if self._ctx is not None:
            _lib.nft_ctx_free(self._ctx)
            self._ctx = None
