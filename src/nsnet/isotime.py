"""Times as users and scripts read them: ISO-8601 in UTC with milliseconds
("2026-12-04T20:25:38.419Z"), never a raw epoch float. `time` only: `nsnet ps`
must not pay for importing datetime."""

import time


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch - whole) * 1000):03d}Z"
