import os

import pytest


def pytest_collection_modifyitems(config, items):
    """Integration tests need root and real kernel objects; skip them (loudly) otherwise."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (integration test)")
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(skip)


def _hypothesis_profile() -> None:
    """Property tests run the same examples every time (no flakes in CI, no
    example database in the checkout) and without a per-example deadline (a
    busy 2-core machine)."""
    try:
        from hypothesis import settings
    except ImportError:  # the `test` extra not installed: the property tests fail at import, loudly
        return
    settings.register_profile("nsnet", derandomize=True, database=None, deadline=None, max_examples=200)
    settings.load_profile("nsnet")


_hypothesis_profile()
