"""Workloads: client threads (threads.py) or Locust (locust.py), both writing the run's history."""
from __future__ import annotations

from .threads import ClientThreads


def for_experiment(exp, urls: dict, run_id: str, recorder, run_dir, seed: int):
    """The experiment's workload: Locust for ``engine: locust`` (imported only then), else client threads."""
    if exp.workload.engine == "locust":
        from .locust import LocustWorkload  # Locust patches the standard library when imported
        last = max((s.end for s in exp.schedule), default=None)
        return LocustWorkload(exp.workload, urls, run_id, recorder, run_dir, last, exp.after_heal.services)
    return ClientThreads(exp.workload, urls, run_id, recorder, seed=seed)
