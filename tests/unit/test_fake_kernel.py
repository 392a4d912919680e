"""FakeKernel keeps a contract with the Kernel it stands in for: every public
verb exists on both, with the same parameters (names, kinds, defaults)."""

import inspect

from nsnet.kernel.rtnl import Kernel

from .fakes import FakeKernel


def verbs(obj) -> dict:
    return {name: [(p.name, p.kind, p.default) for p in inspect.signature(getattr(obj, name)).parameters.values()]
            for name in dir(obj) if not name.startswith("_") and callable(getattr(obj, name))}


def test_fake_kernel_has_every_verb_of_the_kernel_with_the_same_signature():
    real, fake = verbs(Kernel("h")), verbs(FakeKernel())
    assert len(real) >= 35
    missing = sorted(set(real) - set(fake))
    assert missing == [], f"FakeKernel lacks {missing}"
    differ = {name: (real[name], fake[name]) for name in real if real[name] != fake[name]}
    assert differ == {}


def test_the_fake_adds_no_verb_of_its_own_except_its_recorder():
    extra = set(verbs(FakeKernel())) - set(verbs(Kernel("h")))
    assert extra == {"verbs"}
