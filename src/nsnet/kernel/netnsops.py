"""Kernel verbs about named network namespaces beyond making and deleting them
(rtnl.py, which keeps a socket per namespace): whose mark one carries, which
exist, which are in use, and a host-mode sandbox's name pinned to the host's
own namespace. Mixed into Kernel."""

from . import nsfs
from .failure import fail as _fail
from .netlink import messages
from .netlink.consts import NETLINK_ROUTE
from .netlink.nlsocket import NetlinkSocket, RequestError


class NetnsOps:
    def netns_owner(self, name: str) -> str | None:
        """The mark netns_create left on namespace `name` (the alias of its lo);
        None if it has none or is gone."""
        try:
            with nsfs.inside(name):
                sock = NetlinkSocket(NETLINK_ROUTE)
        except OSError:
            return None
        try:
            from .netlink import dumps

            data, offset, end = sock.get(*messages.getlink("lo"))
            return dumps.links([(0, data, offset, end)])[0]["alias"]
        except (RequestError, OSError, IndexError):
            return None
        finally:
            sock.close()

    @staticmethod
    def netns_names() -> list[str]:
        """Every named network namespace (/run/netns)."""
        return nsfs.list_names()

    def _host_netns_file(self) -> str:
        # With no named host, the host is the namespace this engine runs in (its
        # threads return there after every brief visit).
        return nsfs.netns_path(self.host_netns) if self.host_netns else "/proc/thread-self/ns/net"

    def netns_share_host(self, name: str) -> None:
        """Make /run/netns/NAME the host's own namespace (a host-mode sandbox), in
        place of what is pinned there, so `ip netns exec NAME` enters the host's."""
        self.netns_delete(name)
        try:
            nsfs.pin(name, self._host_netns_file())
        except OSError as exc:
            raise _fail(f"pinning the host's namespace as '{name}'", exc)

    def netns_is_host(self, name: str) -> bool:
        return nsfs.same(nsfs.netns_path(name), self._host_netns_file())

    def netns_in_use(self, name: str) -> bool:
        return bool(nsfs.holders([name]))

    def netns_exists(self, name: str) -> bool:
        return nsfs.exists(name)
