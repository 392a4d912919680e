"""The CLI's shared state: global options and a lazily built Engine."""

import click


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
            self._engine.close()


pass_ctx = click.make_pass_decorator(Context)

dry_run_option = click.option("--dry-run", is_flag=True, help="Print the plan as ip commands; change nothing.")

publish_option = click.option(
    "--publish", "-p", multiple=True, metavar="[HOST_IP:]HOST_PORT:PORT[/tcp|udp]",
    help="Publish a port (repeatable; ranges like 8000-8010:8000-8010).")
