"""Where the server's config comes from: a JSON file, or nsnet's state store.

Each source has `key()` (cheap; changes when a reload is due),
`load(previous)`, `alive()` and `lives_on` (False: the server exits once it
has nothing to serve). The store source watches SQLite's data_version, which moves
on every commit by another connection, and the host's resolv.conf."""

import os

from .build import build_config
from .config import Config, load_config, parse_config


class FileSource:
    lives_on = True  # a file's server serves until told to stop

    def __init__(self, path: str):
        self.path = path

    def key(self):
        try:
            st = os.stat(self.path)
        except OSError:  # between unlink and rename, or gone: keep what we have
            return None
        return st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size

    def load(self, previous: Config | None = None) -> Config:
        return load_config(self.path, previous)

    def alive(self) -> bool:
        return True


class StoreSource:
    lives_on = False  # the store's server goes when no network resolves names any more

    def __init__(self, state_dir: str, host_netns: str | None):
        from ..state.store import Store

        self.store = Store(state_dir)
        self.host_netns = host_netns

    def key(self):
        version = self.store.version()
        resolv = f"/etc/netns/{self.host_netns}/resolv.conf" if self.host_netns else "/etc/resolv.conf"
        try:
            mtime = os.stat(resolv).st_mtime_ns
        except OSError:
            mtime = None
        return version, mtime

    def load(self, previous: Config | None = None) -> Config:
        return parse_config(build_config(self.store, self.host_netns), previous)

    def alive(self) -> bool:
        """False once the state directory is gone: whoever made it is gone too,
        and a server left behind would serve nothing for ever."""
        return self.store.exists()
