"""The `nsnet` command. Exceptions become one-line errors and exit codes here,
and only here."""

import sys

import click

from .. import __version__
from ..errors import NsnetError
from . import output
from .agent import agent, overlay
from .context import Context, pass_ctx
from .dns import dns
from .firewall import firewall
from .link import link
from .network import network
from .route import route
from .run import logs, ps, run, stop
from .sandbox import exec_, port, publish, sandbox, unpublish
from .topology import check, down, graph, status, up


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host-netns", envvar="NSNET_HOST_NETNS", metavar="NAME",
              help="Namespace that plays the host (default: the root namespace). Env: NSNET_HOST_NETNS.")
@click.option("--state-dir", envvar="NSNET_STATE_DIR", metavar="DIR",
              help="Where state lives (default /var/lib/nsnet). Env: NSNET_STATE_DIR.")
@click.option("--store", envvar="NSNET_STORE", metavar="URL",
              help="Cluster store for overlay networks: etcd://HOST:PORT (default: SQLite in the state dir). "
                   "Env: NSNET_STORE.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.version_option(__version__, prog_name="nsnet")  # no metadata lookup: ~0.1 s
@click.pass_context
def cli(click_ctx, host_netns, state_dir, store, as_json):
    """nsnet: container networks from Linux primitives (no daemon, no images)."""
    click_ctx.obj = Context(host_netns, state_dir, as_json, store)
    click_ctx.call_on_close(click_ctx.obj.close)


@cli.command()
@click.argument("target", required=False)
@pass_ctx
def explain(ctx, target):
    """Print the ip commands that would rebuild what exists (all, or one sandbox/network)."""
    lines = ctx.engine.explain(target)
    if ctx.as_json:
        return output.emit_json(lines)
    output.commands(lines)


cli.add_command(sandbox)
cli.add_command(port)
cli.add_command(publish)
cli.add_command(unpublish)
cli.add_command(firewall)
cli.add_command(dns)
cli.add_command(network)
cli.add_command(agent)
cli.add_command(overlay)
cli.add_command(link)
cli.add_command(route)
cli.add_command(run)
cli.add_command(ps)
cli.add_command(logs)
cli.add_command(stop)
cli.add_command(exec_, name="exec")
cli.add_command(up)
cli.add_command(down)
cli.add_command(status)
cli.add_command(graph)
cli.add_command(check)


def main(argv=None) -> int:
    try:
        cli.main(args=argv, prog_name="nsnet", standalone_mode=False)
    except NsnetError as exc:
        output.error(f"{exc}")
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except PermissionError as exc:
        output.error(f"{exc} (run as root?)")
        return 5
    return 0


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
