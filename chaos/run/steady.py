"""Steady-state checks: what must hold before a fault is injected, and again after the heal.

- proxies_clean: every proxy of the stack is enabled and carries no toxic (no fault left behind);
- ready: GET /ready answers 200 on each targeted service;
- breakers_closed: every breaker of each targeted service is closed;
- write_read: a probe key written through each targeted service reads back the same value.

Each check is retried until it passes or its `within_s` runs out; the first that fails ends the checks.
"""
from __future__ import annotations

import time

import requests

from chaos.observers.samplers import breaker_states, scrape
from harness.verdicts import Verdict


class SteadyContext:
    """What the checks need: service URLs, the Toxiproxy client and proxy names, a probe key prefix."""

    def __init__(self, urls: dict, toxiproxy, proxies: list[str], probe_prefix: str):
        self.urls, self.toxiproxy, self.proxies, self.probe_prefix = urls, toxiproxy, proxies, probe_prefix
        self.session = requests.Session()
        self.session.trust_env = False


def check_proxies_clean(ctx: SteadyContext, phase: str) -> str | None:
    found = ctx.toxiproxy.proxies()
    bad = []
    for name in ctx.proxies:
        p = found.get(name)
        if p is None:
            bad.append(f"{name} missing")
        elif not p.enabled or p.toxics:
            bad.append(f"{name} {'disabled' if not p.enabled else ''}{' toxics ' if p.toxics else ''}"
                       f"{','.join(t.name for t in p.toxics)}".strip())
    return None if not bad else ("faults left on proxies: " + "; ".join(bad) +
                                 " (run `python -m chaos heal`)")


def check_ready(ctx: SteadyContext, phase: str) -> str | None:
    bad = []
    for s, url in ctx.urls.items():
        r = ctx.session.get(url + "/ready", timeout=3)
        if r.status_code != 200:
            bad.append(f"{s} /ready {r.status_code} {r.text.strip()[:120]}")
    return "; ".join(bad) or None


def check_breakers_closed(ctx: SteadyContext, phase: str) -> str | None:
    bad = []
    for s, url in ctx.urls.items():
        states = breaker_states(scrape(ctx.session, url))
        bad += [f"{s}:{n}={st}" for n, st in sorted(states.items()) if st != "closed"]
        if not states:
            bad.append(f"{s}: no circuit_breaker_state in /metrics")
    return ("breakers not closed: " + ", ".join(bad)) if bad else None


def check_write_read(ctx: SteadyContext, phase: str) -> str | None:
    bad = []
    for s, url in ctx.urls.items():
        key, value = f"{ctx.probe_prefix}:probe:{s}", f"{phase}-{time.time_ns()}"
        w = ctx.session.post(f"{url}/write/{key}/{value}", timeout=3)
        if w.status_code != 200:
            bad.append(f"{s} write {w.status_code} {w.text.strip()[:120]}")
            continue
        r = ctx.session.get(f"{url}/read/{key}", timeout=3)
        got = r.json().get("value") if r.headers.get("content-type", "").startswith("application/json") else None
        if r.status_code != 200 or got != value:
            bad.append(f"{s} read back {r.status_code} {got!r}, expected {value!r}")
    return "; ".join(bad) or None


CHECKS = {"proxies_clean": check_proxies_clean, "ready": check_ready,
          "breakers_closed": check_breakers_closed, "write_read": check_write_read}


def run_steady_state(ctx: SteadyContext, checks, phase: str, default_within_s: float) -> Verdict:
    """Run the checks in order, each retried until it passes or its time runs out; stop at the first failure."""
    rows, failed = [], []
    for spec in checks:
        within = default_within_s if spec.within_s is None else spec.within_s
        if spec.check == "proxies_clean" and spec.within_s is None:
            within = 0.0  # a fault left behind does not go away by waiting
        started = time.monotonic()
        while True:
            try:
                problem = CHECKS[spec.check](ctx, phase)
            except Exception as err:  # a check that cannot run has not passed
                problem = f"{type(err).__name__}: {err}"
            if problem is None or time.monotonic() - started >= within:
                break
            time.sleep(0.2)
        rows.append({"check": spec.check, "ok": problem is None, "detail": problem,
                     "seconds": round(time.monotonic() - started, 2)})
        if problem is not None:
            failed.append(f"{spec.check}: {problem}")
            break  # the steady state is already broken; later checks would only wait
    rows += [{"check": c.check, "ok": None, "detail": "skipped", "seconds": 0} for c in checks[len(rows):]]
    name = f"steady_state_{phase}"
    if failed:
        return Verdict(name, "invalid", "; ".join(failed), evidence=rows, figures={"checks": rows})
    if not rows:
        return Verdict(name, "unknown", "no steady-state check configured: nothing was checked",
                       figures={"checks": rows})
    return Verdict(name, "valid", f"{len(rows)} checks passed: " + ", ".join(r["check"] for r in rows),
                   figures={"checks": rows})
