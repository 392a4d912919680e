"""The CLI's shared state: the global options and an Engine built on first
use (`nsnet ps`, --help and usage errors never import the engine)."""


class Context:
    def __init__(self, host_netns, state_dir, as_json, store=None):
        self.host_netns = host_netns
        self.state_dir = state_dir
        self.as_json = as_json
        self.store = store  # cluster store URL (overlay networks)
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from ..engine import Engine

            self._engine = Engine(host_netns=self.host_netns, state_dir=self.state_dir, cluster_store=self.store)
        return self._engine

    def close(self):
        if self._engine is not None:
            self._engine.close(exiting=True)  # the command's process ends next
