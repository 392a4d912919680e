"""`nsnet agent`: the per-host overlay agent (see agent/loop.py)."""


def run_agent(engine, address: str, name: str | None = None, ttl: int = 10) -> int:
    from .loop import Agent

    return Agent(engine, address, name, ttl).run()


__all__ = ["run_agent"]
