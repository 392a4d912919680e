"""click glue for the CLI's shared state (session.Context) and shared options."""

import click

from .session import Context

pass_ctx = click.make_pass_decorator(Context)

dry_run_option = click.option("--dry-run", is_flag=True, help="Print the plan as ip commands; change nothing.")

publish_option = click.option(
    "--publish", "-p", multiple=True, metavar="[HOST_IP:]HOST_PORT:PORT[/tcp|udp]",
    help="Publish a port (repeatable; ranges like 8000-8010:8000-8010).")

__all__ = ["Context", "dry_run_option", "pass_ctx", "publish_option"]
