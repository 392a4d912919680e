import pytest

from nsnet import Engine

from .fakes import FakeKernel


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def engine(tmp_path, kernel):
    eng = Engine(host_netns="h", state_dir=str(tmp_path), kernel=kernel)
    kernel.namespaces.add("h")
    yield eng
    eng.close()
