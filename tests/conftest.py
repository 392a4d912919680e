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
