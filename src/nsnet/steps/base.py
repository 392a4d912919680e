"""Plans are data: a list of Steps, each able to apply, undo and explain itself,
say whether its effect is present, and declare what it touches.

That one idea gives rollback on failure, --dry-run / explain (the equivalent
`ip` commands), drift checks and repair, golden tests without root, and fault
injection for tests. The executor (engine/executor.py) runs plans.
"""

from ..plain import PlainData

NO_TOUCH: tuple[frozenset, frozenset] = (frozenset(), frozenset())


def on(ns: str | None, *ifnames: str | None) -> tuple[set, set]:
    """What a step on interfaces of namespace `ns` (None: the host) touches."""
    return ({ns} if ns else set()), {(ns, ifname) for ifname in ifnames if ifname}


REGISTRY: dict[str, type] = {}  # class name -> Step class: journal records back into Steps


class Step(PlainData):
    """Base class. `kind` names the step for fault injection ('veth_add' ...).
    Steps are plain classes, not dataclasses: `import dataclasses` costs ~10 ms of CLI start-up."""

    kind = "step"
    # Its commands act on the namespace they run in when they name none: the
    # host's (Plan.explain aims them at a namespace that plays the host).
    # False for steps whose commands reach no namespace (the cluster store's).
    in_host = True

    shared = False  # a host-wide object several networks' plans hold (one WireGuard device): kept once

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls

    def apply(self, kernel) -> None:
        raise NotImplementedError

    def undo(self, kernel) -> None:
        """Reverse apply(); must tolerate the object being gone already."""

    def explain(self) -> list[str]:
        return []

    def check(self, view) -> bool:
        """Is this step's effect present? `view` is a KernelView (steps/view.py).
        A step that cannot tell counts as present."""
        return True

    def touches(self) -> tuple:
        """(namespaces, interfaces) this step makes, changes or hangs off:
        sandbox namespaces by name, interfaces as (namespace or None for the
        host, name). Host-wide steps (forwarding, the firewall table) touch none.
        The reconciler finds a step's owners (sandboxes, networks) by this."""
        return NO_TOUCH

    def makes(self) -> set:
        """Keys of the kernel objects this step creates, for the recovery of a
        change killed half-way: ("netns", name), ("link", ns, ifname),
        ("addr", ns, ifname, cidr), ("route", ns, dest, via), ("sysctl", key, value).
        A made object no step of the store's rebuild plan also makes is a leftover,
        and undo() removes it. Steps that make nothing of their own say nothing."""
        return set()

    def as_record(self) -> dict:
        """This step as a journal record (state/intents.py): its class and its
        fields (restore() makes the step again). A field JSON cannot hold (an
        object, a callable) is recorded as null: steps that have one say so."""
        return {"step": type(self).__name__, **vars(self)}


def restore(record: dict) -> Step | None:
    """The Step a journal record describes (None: a kind this code does not know)."""
    cls = REGISTRY.get(record.get("step", ""))
    if cls is None:
        from . import cluster, overlay  # noqa: F401  (imported where used; registers their kinds)

        cls = REGISTRY.get(record.get("step", ""))
        if cls is None:
            return None
    step = cls.__new__(cls)
    step.__dict__.update((k, v) for k, v in record.items() if k != "step")
    return step


class Plan(PlainData):
    def __init__(self, steps: list[Step] | None = None):
        self.steps = [] if steps is None else steps

    def add(self, *steps: Step) -> "Plan":
        self.steps.extend(steps)
        return self

    def extend(self, steps) -> "Plan":
        self.steps.extend(steps)
        return self

    def explain(self, host: str | None = None) -> list[str]:
        """The steps' commands; `host`: the namespace that plays the host, which
        the host's commands then name (see aimed_at)."""
        return [aimed_at(host, line) if host is not None and step.in_host else line
                for step in self.steps for line in step.explain()]

    def once(self) -> "Plan":
        """This plan without repeats of shared steps (equal ones after the first)."""
        seen, steps = [], []
        for step in self.steps:
            if step.shared:
                if step in seen:
                    continue
                seen.append(step)
            steps.append(step)
        return Plan(steps)

    def __len__(self) -> int:
        return len(self.steps)


NAMESPACED = ("ip", "bridge", "tc")  # tools that take `-n NETNS` before their object


def aimed_at(host: str, line: str) -> str:
    """A command a Step wrote for the host's own namespace, aimed at `host`, the
    namespace that plays the host: pasted into a shell on the real host, it
    changes that namespace only. Commands that name their namespace already
    (`ip -n NS`, `ip netns ...`) and comments stay as they are; ip, bridge and
    tc get `-n HOST`; any other tool (nft, sysctl) runs under `ip netns exec HOST`."""
    words = line.split(" ", 2)
    if line.startswith("#") or (len(words) > 1 and (words[1] == "-n" or words[:2] == ["ip", "netns"])):
        return line
    if words[0] in NAMESPACED and len(words) > 1:
        return f"{words[0]} -n {host} {line[len(words[0]) + 1:]}"
    return f"ip netns exec {host} {line}"

