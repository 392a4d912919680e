"""Summary statistics for timing samples (milliseconds or seconds alike)."""

import math
import statistics


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    xs = sorted(values)
    if not xs:
        return math.nan
    k = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(values) -> dict:
    """median, p10/p90, min/max, mean and spread = (p90 - p10) / median."""
    xs = [float(v) for v in values]
    if not xs:
        return {"n": 0}
    med = statistics.median(xs)
    p10, p90 = percentile(xs, 10), percentile(xs, 90)
    return {
        "n": len(xs),
        "median": med,
        "p10": p10,
        "p90": p90,
        "min": min(xs),
        "max": max(xs),
        "mean": statistics.fmean(xs),
        "spread": (p90 - p10) / med if med else math.nan,
    }


def between_rounds(round_medians) -> float:
    """Relative range of per-round medians: how much one run differs from the next."""
    xs = [float(v) for v in round_medians]
    if len(xs) < 2:
        return math.nan
    med = statistics.median(xs)
    return (max(xs) - min(xs)) / med if med else math.nan
