"""The stack's health, as the page shows it: each node, Toxiproxy and its proxies, each service instance.

A node is "up" when it answers PING within the timeout, "paused" when its process runs but does not
answer (a SIGSTOPped node looks like this), "down" when its process is gone. A service is "ready"
when /ready answers 200. Toxiproxy lists every proxy that is disabled or carries a toxic.
"""
from __future__ import annotations

import requests


def node_health(node, timeout: float) -> str:
    try:
        with node.client(socket_timeout=timeout) as c:
            c.ping()
        return "up"
    except Exception:  # any redis error: not answering
        return "paused" if node.running() else "down"


def service_health(session: requests.Session, url: str, timeout: float) -> str:
    try:
        resp = session.get(url + "/ready", timeout=timeout)
    except requests.RequestException:
        return "down"
    return "ready" if resp.status_code == 200 else f"not ready ({resp.status_code})"


def toxiproxy_health(stack, timeout: float) -> dict:
    try:
        from stack.toxiproxy import Toxiproxy
        with Toxiproxy(stack.config.toxiproxy_url, connect_timeout=timeout, read_timeout=timeout) as tp:
            proxies = tp.proxies()
    except Exception as err:  # connection refused, timeout, a bad answer: all mean not usable
        return {"state": "down", "error": type(err).__name__, "faults": []}
    faults = [f"{p.name}: disabled" for p in proxies.values() if not p.enabled]
    faults += [f"{p.name}: {t.type} ({t.name})" for p in proxies.values() for t in p.toxics]
    return {"state": "up", "proxies": len(proxies), "faults": sorted(faults)}


def stack_health(stack, session: requests.Session, timeout: float = 0.5) -> dict:
    """One look at every part of the stack; never raises."""
    out = {"nodes": {n: node_health(node, timeout) for n, node in stack.nodes.items()},
           "toxiproxy": toxiproxy_health(stack, timeout),
           "services": {s: service_health(session, stack.config.service_url(s), timeout)
                        for s in stack.config.services}}
    try:  # every process of the stack, attached ones (Prometheus...) included
        out["processes"] = {r["name"]: "running" if r["running"] else "stopped" for r in stack.status()}
    except Exception as err:  # a pid file being rewritten: say so, look again next time
        out["processes"] = {"error": type(err).__name__}
    return out
