"""Element batches over a NETLINK_NETFILTER socket kept open in a namespace,
with the set types the kernel told it (netlink/nftables.py encodes)."""

from .netlink import nftables
from .netlink.consts import NETLINK_NETFILTER
from .netlink.nlsocket import NetlinkSocket, RequestError


class Wire:
    """One nfnetlink socket and the types of the sets of the tables it has seen."""

    def __init__(self):
        self.sock = NetlinkSocket(NETLINK_NETFILTER)
        self.sets: dict[tuple[str, str, str], nftables.SetInfo] = {}
        self.known_tables: set[tuple[str, str]] = set()

    def forget_sets(self) -> None:
        self.sets.clear()
        self.known_tables.clear()

    def _load_sets(self, family: str, table: str) -> None:
        found = {}
        try:
            for mtype, data, off, end in self.sock.dump(*nftables.getset(family, table)):
                parsed = nftables.parse_set(data, off + 4, end) if nftables.is_set(mtype) else None
                if parsed and parsed[0] == table:
                    found[(family, table, parsed[1])] = parsed[2]
        except RequestError:
            return  # no such table: nothing cached, the batch goes to libnftables
        self.sets.update(found)
        self.known_tables.add((family, table))

    def run(self, commands) -> None:
        """Send element commands as one transaction. Raises Unsupported (use
        libnftables instead; nothing was sent) or RequestError."""
        for _verb, family, table, _name, _elems in commands:
            if (family, table) not in self.known_tables:
                self._load_sets(family, table)
        messages = nftables.encode(commands, self.sets)
        try:
            self.sock.batch(messages)
        except RequestError:
            self.forget_sets()
            raise

    def close(self) -> None:
        self.sock.close()
