"""Alert timelines: when each alert was pending and when it was firing, from a run's AlertEvents."""
from __future__ import annotations

from harness.history import AlertEvent

ALERT_COLORS = {"pending": "#f2b134", "firing": "#d62728"}


def alert_spans(events, service: str | None, t_end: float) -> list[tuple[str, list]]:
    """Return (label, [(start, end, phase), ...]) per alert (name and labels), sorted by label.

    With a service, only that service's alerts and those without a service label (e.g. a node
    unreachable from every service)."""
    spans: dict[str, list] = {}
    open_: dict[str, tuple] = {}
    for e in sorted((e for e in events if isinstance(e, AlertEvent) and e.phase != "poll-error"),
                    key=lambda e: e.time):
        if service is not None and e.labels.get("service", service) != service:
            continue
        key = alert_label(e.alert, e.labels)
        spans.setdefault(key, [])
        if key in open_:
            t, phase = open_.pop(key)
            spans[key].append((t, e.time, phase))
        if e.phase in ALERT_COLORS:
            open_[key] = (e.time, e.phase)
    for key, (t, phase) in open_.items():
        spans[key].append((t, max(t_end, t), phase))
    return [(key, spans[key]) for key in sorted(spans)]


def alert_label(name: str, labels: dict) -> str:
    """'CaplabBreakerOpen', {service: cp, node: g2} -> 'BreakerOpen cp g2'."""
    parts = [labels[k] for k in ("service", "node", "operation") if labels.get(k)]
    return " ".join([name.removeprefix("Caplab"), *parts])
