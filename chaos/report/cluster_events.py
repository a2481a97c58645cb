"""A failover as the Sentinels told it: the ClusterEvents of a history, for checks and the report."""
from __future__ import annotations

from harness.history import ClusterEvent

# The events that make up a failover, in the order Sentinel goes through them (docs/native.md).
FAILOVER = ("+sdown", "+odown", "+try-failover", "+elected-leader", "+selected-slave",
            "+promoted-slave", "+switch-master", "+failover-end", "+convert-to-slave", "-sdown")
# Marked on the native service's plots: (event, colour).
MARKED = {"+switch-master": "#d62728", "+convert-to-slave": "#9467bd"}


def failovers(events) -> list[dict]:
    """The failovers in a history: when the first Sentinel said +switch-master, and from/to where.

    ``+switch-master <name> <old ip> <old port> <new ip> <new port>``; every Sentinel says it, the
    first one counts."""
    seen, out = set(), []
    for e in sorted((e for e in events if isinstance(e, ClusterEvent) and e.event == "+switch-master"),
                    key=lambda e: e.time):
        parts = e.detail.split()
        if len(parts) != 5 or tuple(parts) in seen:
            continue
        seen.add(tuple(parts))
        out.append({"at_s": round(e.time, 3), "from": f"{parts[1]}:{parts[2]}", "to": f"{parts[3]}:{parts[4]}",
                    "source": e.source})
    return out


def milestones(events) -> list[dict]:
    """The failover's milestones, once each (the first Sentinel to say it): for the report."""
    first: dict[tuple, ClusterEvent] = {}
    for e in sorted((e for e in events if isinstance(e, ClusterEvent) and e.event in FAILOVER),
                    key=lambda e: e.time):
        key = (e.event, e.detail if e.event in ("+switch-master", "+convert-to-slave", "+promoted-slave") else
               e.detail.split(" @ ")[0].split(" #")[0])  # "+odown ... #quorum 2/2", then "3/2": once
        first.setdefault(key, e)
    return [{"at_s": round(e.time, 2), "event": e.event, "detail": e.detail, "source": e.source}
            for e in sorted(first.values(), key=lambda e: e.time)]


def marks(events) -> list[tuple[float, str, str]]:
    """(time, label, colour) for each switch of primary and each demotion, to draw on a plot."""
    out = []
    for m in milestones(events):
        if m["event"] in MARKED:
            parts = m["detail"].split()
            where = f"{parts[2]}:{parts[3]}" if m["event"] == "+convert-to-slave" and len(parts) >= 4 else \
                (f"-> :{parts[4]}" if len(parts) == 5 else "")
            out.append((m["at_s"], f"{m['event']} {where}".strip(), MARKED[m["event"]]))
    return out


def draw_marks(ax, events) -> None:
    """Mark each switch of primary and each demotion on a matplotlib axis, as a dotted line."""
    for t, label, color in marks(events):
        ax.axvline(t, color=color, ls=":", lw=1.2)
        ax.text(t, 0.02, f" {label}", transform=ax.get_xaxis_transform(), rotation=90, va="bottom", ha="left",
                fontsize=7, color=color, clip_on=True)
