"""The services side by side in one run: availability under the faults, writes lost, linearizability.

Built from the run record alone (results.json): the availability checker's windows, each
``lost_writes`` and ``linearizable`` verdict (listed once per service as ``<checker>/<service>``)
and the service its thresholds named. For a run with one service, or without these checkers, there
is no table.
"""
from __future__ import annotations


def service_rows(results: dict) -> list[dict]:
    """One row per service judged by lost_writes or linearizable: what the table of the report shows."""
    named = {name: (t or {}).get("service") for name, t in (results.get("checkers") or {}).items()}
    verdicts = {v.get("checker"): v for v in results.get("verdicts") or [] if isinstance(v, dict)}
    rows: dict[str, dict] = {}
    for name, service in named.items():
        base = name.split("/", 1)[0]
        if base not in ("lost_writes", "linearizable") or not service or name not in verdicts:
            continue
        row = rows.setdefault(service, {"service": service, "fault_availability": _availability(verdicts, service),
                                        "acknowledged": "—", "lost": "—", "linearizable": "—"})
        v, figures = verdicts[name], verdicts[name].get("figures") or {}
        if base == "lost_writes":
            mine = (figures.get("by_service") or {}).get(service, {})
            row["acknowledged"], row["lost"] = mine.get("acknowledged", 0), mine.get("lost", 0)
        else:
            found = v.get("valid") if figures.get("expected") != "invalid" else \
                {"valid": "invalid", "invalid": "valid"}.get(v.get("valid"), "unknown")
            row["linearizable"] = {"valid": "yes", "invalid": "no"}.get(found, "unknown")
    return list(rows.values()) if len(rows) > 1 else []


def _availability(verdicts: dict, service: str) -> str:
    """The share of ok operations in each fault window, for one service ("—" without the checker)."""
    windows = (verdicts.get("availability") or {}).get("figures", {}).get("windows") or []
    shares = [w["availability"] for w in windows if w.get("service") == service and w.get("kind") == "fault"
              and w.get("availability") is not None]
    return " / ".join(f"{a:.0%}" for a in shares) or "—"
