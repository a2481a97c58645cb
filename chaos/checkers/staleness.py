"""Measure how stale reads were, as the service reports it and as the history proves it."""
from __future__ import annotations

import bisect

from app.records import Version
from harness.pairs import pair_ops
from harness.verdicts import Verdict

from .common import distribution

NAME = "staleness"


def check(history, service: str = "ap", max_staleness_ms: int | None = None,
          max_share_above: float | None = None, require_honest_staleness: bool = False) -> Verdict:
    """Summarize reported staleness, catch inconsistent stale flags, and find reads proven stale."""
    pairs = pair_ops(history)
    reads = [c for c in pairs if c.service == service and c.f == "read" and c.type == "ok"]
    reported = [c for c in reads if c.completion.staleness_ms is not None]
    ages = [c.completion.staleness_ms for c in reported]
    figures = {"reads": len(reads), "reported": len(reported), "staleness_ms": distribution(ages),
               "flagged_stale": sum(bool(c.completion.stale) for c in reads),
               "max_staleness_ms": max_staleness_ms}
    problems, evidence = [], []
    if max_staleness_ms is not None:
        above = [c for c in reported if c.completion.staleness_ms > max_staleness_ms]
        share = len(above) / len(reported) if reported else 0.0
        figures.update(above=len(above), share_above=round(share, 4))
        # The service flags a read stale exactly when its staleness exceeds the bound; anything else
        # means the flag or the number is wrong.
        wrong = [c for c in reported if c.completion.stale is not None
                 and bool(c.completion.stale) != (c.completion.staleness_ms > max_staleness_ms)]
        figures["inconsistent_flags"] = len(wrong)
        if wrong:
            problems.append(f"{len(wrong)} reads flagged stale={wrong[0].completion.stale} "
                            f"against staleness_ms={wrong[0].completion.staleness_ms}")
            evidence += [dict(c.describe(), staleness_ms=c.completion.staleness_ms,
                              stale=c.completion.stale) for c in wrong]
        if max_share_above is not None and share > max_share_above:
            problems.append(f"{share:.2%} of reads above {max_staleness_ms} ms, more than {max_share_above:.2%}")
    checkable: list = []
    observed = observed_stale(pairs, reads, checkable)
    figures["checkable"] = len(checkable)
    under = [o for o in observed if o["lag_ms"] > 0 and o["staleness_ms"] == 0]
    figures.update(observed_stale=len(observed), unverifiable=sum(c.version is None and c.value is not None for c in reads),
                   max_observed_lag_ms=max((o["lag_ms"] for o in observed), default=0),
                   under_reported=len(under))
    if require_honest_staleness and under:
        problems.append(f"{len(under)} reads proven stale but reported staleness_ms=0")
        evidence += under
    if problems:
        return Verdict(NAME, "invalid", "; ".join(problems), evidence=evidence, figures=figures)
    untested = _untested(figures, service, max_staleness_ms, require_honest_staleness)
    if untested:
        return Verdict(NAME, "unknown", untested, figures=figures)
    return Verdict(NAME, "valid", f"{len(reads)} {service} reads: p99 staleness "
                   f"{figures['staleness_ms']['p99']} ms, {len(observed)} proven stale "
                   f"(max lag {figures['max_observed_lag_ms']} ms)", figures=figures)


def _untested(figures: dict, service: str, max_staleness_ms, require_honest: bool) -> str | None:
    """Say why the history could not test what was asked, or None when it could."""
    if not figures["reads"]:
        return f"no ok {service} read: no staleness to measure"
    if max_staleness_ms is not None and not figures["reported"]:
        return f"no {service} read reported staleness_ms: the bound of {max_staleness_ms} ms was not tested"
    if require_honest and not figures["checkable"]:
        return (f"no {service} read followed an acknowledged, versioned write of its key: "
                f"honest staleness could not be tested")
    return None


def observed_stale(pairs, reads, checked: list | None = None) -> list[dict]:
    """Return the reads that missed an acknowledged write completed before they were invoked."""
    # Writes through any service count: both share one key space and one version order.
    writes: dict[str, list] = {}
    for c in pairs:
        if c.f == "write" and c.type == "ok" and c.version:
            writes.setdefault(c.key, []).append(c)
    index = {}
    for key, ws in writes.items():
        ws.sort(key=lambda c: c.end)
        ends, best, newest = [], [], None
        for c in ws:  # the newest version acknowledged by each completion time
            v = Version.parse(c.version)
            if newest is None or v > newest[0]:
                newest = (v, c)
            ends.append(c.end)
            best.append(newest)
        index[key] = (ends, best)
    out = []
    for r in reads:
        if r.key not in index or (r.version is None and r.value is not None):
            continue  # a value without a version cannot be placed in the version order
        ends, best = index[r.key]
        k = bisect.bisect_left(ends, r.start)  # writes acknowledged strictly before the read began
        if k == 0:
            continue
        if checked is not None:
            checked.append(r)
        newest, w = best[k - 1]
        got = Version.parse(r.version) if r.version else None
        if got is None or got < newest:
            lag = r.invoke.wall_ms - w.completion.wall_ms
            out.append(dict(r.describe(), missed=str(newest), lag_ms=lag,
                            staleness_ms=r.completion.staleness_ms))
    return out
