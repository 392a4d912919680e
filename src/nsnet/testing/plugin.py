"""nsnet's pytest plugin, active once nsnet is installed (a pytest11 entry
point): the `nsnet_lab` fixture gives each test a throwaway lab (a host
namespace, an Engine, sandboxes, faults; nsnet.testing.Lab) and removes it
afterwards, failing the test if anything leaked.

    def test_leader_election(nsnet_lab):
        nsnet_lab.network("n")
        nsnet_lab.sandboxes("n1", "n2", "n3", network="n")
        ...

    @pytest.mark.nsnet_topology("cluster.yaml")   # built before the test
    def test_with_a_file(nsnet_lab): ...

Importing this module costs pytest nothing: nsnet is loaded by the fixture."""

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "nsnet_topology(path): the nsnet_lab fixture builds this topology file "
                                       "first (relative to the test's file)")


@pytest.fixture
def nsnet_lab(request):
    """A throwaway nsnet lab for this test (nsnet.testing.Lab); needs root."""
    if os.geteuid() != 0:
        pytest.fail("nsnet_lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): it makes network namespaces")
    from . import Lab

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    lab = Lab(tag=worker.replace("gw", "w")[:4])
    try:
        marker = request.node.get_closest_marker("nsnet_topology")
        if marker is not None:
            lab.up(str(request.node.path.parent / marker.args[0]))
        yield lab
    finally:
        leaks = lab.close()
    if leaks:
        pytest.fail("nsnet lab leaked: " + "; ".join(leaks), pytrace=False)
