"""The parts of a promtool unit test: input series (gauges, counters), the step plan of a profile,
and the alerts expected firing with their annotations rendered as Prometheus would."""
from __future__ import annotations

import math
import re

from .rules import alerting_rules
from .settings import AlertSettings, duration


def series(name: str, labels: dict, values: str) -> dict:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{inner}}}", "values": values}


def gauge(*segments) -> str:
    """Values of a gauge: (value, steps) segments, e.g. gauge((0, 4), (2, 10))."""
    return " ".join(f"{v:g}x{k - 1}" for v, k in segments)


def counter(*segments) -> str:
    """Values of a counter starting at 0: (increment per step, steps) segments."""
    out, c = ["0"], 0.0
    for inc, k in segments:
        out.append(f"{c + inc:g}+{inc:g}x{k - 1}")
        c += inc * k
    return " ".join(out)


class Plan:
    """Step arithmetic for one profile: a step is one evaluation interval."""

    def __init__(self, s: AlertSettings):
        self.s, self.i = s, s.evaluation_interval_s

    def steps(self, seconds: float) -> int:
        return math.ceil(seconds / self.i)

    def at(self, step: int) -> str:
        return duration(step * self.i)


def _go_value(v: float) -> str:
    """$value as Go's text/template prints a float64 (%v): shortest form."""
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    return repr(v)


def _humanize_duration(v: float) -> str:
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        if abs(v) >= 60:
            raise ValueError(f"humanizeDuration of {v}s: add minutes to the test renderer")
        return f"{v:.4g}s"
    for prefix in ("m", "u", "n", "p"):
        v *= 1000
        if abs(v) >= 1:
            return f"{v:.4g}{prefix}s"
    raise ValueError(f"humanizeDuration of {v}: too small")


FILTERS = {"": _go_value, "humanizePercentage": lambda v: f"{v * 100:.4g}%",
           "humanizeDuration": _humanize_duration}


def expand(template: str, labels: dict, value: float) -> str:
    """Expand the few template forms the rules use, as Prometheus would."""
    def one(m):
        expr = m.group(1).strip()
        if expr.startswith("$labels."):
            return labels.get(expr[len("$labels."):], "")
        name, _, filt = (x.strip() for x in expr.partition("|"))
        if name != "$value" or filt not in FILTERS:
            raise ValueError(f"template {{{{ {expr} }}}} is not supported by the test renderer")
        return FILTERS[filt](value)
    return re.sub(r"\{\{(.*?)\}\}", one, template)


def firing(alertname: str, labels: dict, value: float, settings: AlertSettings) -> dict:
    """One expected firing alert: its labels, and its annotations rendered for ``value``."""
    rule = next(r for r in alerting_rules(settings) if r["alert"] == alertname)
    return {"exp_labels": labels,
            "exp_annotations": {k: expand(v, labels, value) for k, v in rule["annotations"].items()}}


def check(alertname: str, step_time: str, *alerts: tuple) -> dict:
    """An alert_rule_test: ``alerts`` are (labels, value, settings) of the alerts expected firing."""
    return {"eval_time": step_time, "alertname": alertname,
            "exp_alerts": [firing(alertname, *a) for a in alerts]}
