"""`nsnet ps`, straight from the process records (run/pslist.py): no engine,
no sqlite3, no output helpers: Python's own start-up plus ~1-3 ms."""


def ps(ctx, quiet, all):
    from ..run import pslist

    pslist.main(ctx.state_dir, ctx.as_json, quiet, all)
