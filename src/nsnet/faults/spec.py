"""What the user asks for: partition groups and impairments, validated and
normalised (rates in bits per second, times in milliseconds). Pure."""

import re

from ..errors import InvalidInput
from ..plain import PlainData

# tc's units: 'bit' suffixes count bits, 'bps' suffixes bytes; k/m/g/t are powers
# of 1000, ki/mi/gi/ti of 1024. A bare number is bits per second.
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?(bit|bps)?\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
MIN_RATE, MAX_RATE = 8, 10**12 * 8  # bits/s: 1 byte/s .. 8 Tbit/s
MAX_DELAY_MS = 60_000.0


def parse_rate(value) -> int:
    """'10mbit', '1.5gbit', '100kbps' (bytes), 800000 -> bits per second."""
    if isinstance(value, bool):
        raise InvalidInput(f"rate {value!r} is not a rate (e.g. 10mbit, 1gbit, 500kbit)")
    if isinstance(value, int):
        bits = value
    else:
        match = _RATE.match(str(value))
        if not match:
            raise InvalidInput(f"rate '{value}' does not parse (e.g. 10mbit, 1gbit, 500kbit, 100kbps)")
        number, scale, unit = match.group(1), (match.group(2) or "").lower(), (match.group(3) or "bit").lower()
        bits = int(float(number) * _SCALE[scale] * (8 if unit == "bps" else 1))
    if not MIN_RATE <= bits <= MAX_RATE:
        raise InvalidInput(f"rate '{value}' is out of range (8bit .. 8tbit)")
    return bits


def format_rate(bits: int) -> str:
    """Bits per second as tc prints them: 10mbit, 1.5mbit, 64bit."""
    for unit, scale in (("tbit", 10**12), ("gbit", 10**9), ("mbit", 10**6), ("kbit", 10**3)):
        if bits >= scale:
            return f"{bits / scale:g}{unit}"
    return f"{bits}bit"


def _number(flag: str, value, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{flag} '{value}' is not a number")
    if number != number or not low <= number <= high:
        raise InvalidInput(f"{flag} {value} is out of range ({low:g}..{high:g})")
    return number


class Impairment(PlainData):
    """Loss (percent), rate (bits/s), delay and jitter (ms) on a sandbox's
    outgoing traffic: on one interface (ifname) or all of nsnet's (None), to
    the named peers only (to) or to everyone (empty)."""

    def __init__(self, sandbox: str, ifname: str | None = None, loss: float | None = None,
                 rate: int | None = None, delay: float | None = None, jitter: float | None = None,
                 to: list[str] | None = None):
        self.sandbox, self.ifname = sandbox, ifname
        self.loss, self.rate, self.delay, self.jitter = loss, rate, delay, jitter
        self.to = sorted(set(to or ()))

    @classmethod
    def parse(cls, sandbox: str, ifname: str | None, loss=None, rate=None, delay=None, jitter=None,
              to=None) -> "Impairment":
        """Validated: raises InvalidInput with the option at fault."""
        if loss is None and rate is None and delay is None and jitter is None:
            raise InvalidInput("nothing to impair: give --loss, --rate or --delay (or --clear)")
        if jitter is not None and delay is None:
            raise InvalidInput("--jitter needs --delay")
        for peer in to or ():
            if peer == sandbox:
                raise InvalidInput(f"--to {peer}: a sandbox's impairment is on its traffic to others")
        return cls(sandbox, ifname,
                   loss=None if loss is None else _number("--loss", loss, 0, 100),
                   rate=None if rate is None else parse_rate(rate),
                   delay=None if delay is None else _number("--delay", delay, 0, MAX_DELAY_MS),
                   jitter=None if jitter is None else _number("--jitter", jitter, 0, MAX_DELAY_MS),
                   to=to)

    @property
    def needs_netem(self) -> bool:
        return bool(self.delay or self.jitter)

    def to_record(self) -> dict:
        return {"loss": self.loss, "rate": self.rate, "delay": self.delay, "jitter": self.jitter, "to": self.to}

    @classmethod
    def from_record(cls, sandbox: str, ifname: str, record: dict) -> "Impairment":
        return cls(sandbox, ifname or None, record.get("loss"), record.get("rate"), record.get("delay"),
                   record.get("jitter"), record.get("to"))

    def view(self) -> dict:
        """As `nsnet faults --json` shows it."""
        return {"sandbox": self.sandbox, "ifname": self.ifname, "loss": self.loss,
                "rate": format_rate(self.rate) if self.rate else None, "rate_bps": self.rate,
                "delay_ms": self.delay, "jitter_ms": self.jitter, "to": self.to}


def parse_target(target: str) -> tuple[str, str | None]:
    """'n1' or 'n1:eth0' -> (sandbox, interface or None)."""
    if not isinstance(target, str) or not target:
        raise InvalidInput("give a sandbox to impair (SANDBOX or SANDBOX:IFNAME)")
    sandbox, sep, ifname = target.partition(":")
    if sep and not ifname:
        raise InvalidInput(f"'{target}': give an interface after ':' (e.g. {sandbox}:eth0)")
    return sandbox, ifname or None


def parse_groups(groups) -> list[list[str]]:
    """Groups as given ('n1,n2' or ['n1', 'n2'] each) -> lists of names; a
    sandbox in two groups, or an empty group, is bad input."""
    if isinstance(groups, str) or not groups:
        raise InvalidInput("give at least one group of sandboxes (GROUP is a comma-separated list)")
    out, seen = [], {}
    for number, group in enumerate(groups, 1):
        names = group.split(",") if isinstance(group, str) else list(group)
        names = [name.strip() if isinstance(name, str) else name for name in names]
        if not names or any(not name or not isinstance(name, str) for name in names):
            raise InvalidInput(f"group {number} ('{group}') has an empty name")
        for name in names:
            if name in seen:
                where = "twice in group" if seen[name] == number else f"in groups {seen[name]} and"
                raise InvalidInput(f"sandbox '{name}' is {where} {number}: a sandbox is in one group")
            seen[name] = number
        out.append(names)
    return out
