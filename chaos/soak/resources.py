"""What a soak watches for leaks: memory and descriptors of every process, Redis memory, history on disk.

A `ResourceSampler` thread reads, every `every_s` seconds, the resident memory (RSS) and the open
file descriptors of each gunicorn master and of its workers (summed: a recycled worker is replaced,
not lost), each redis-server and Toxiproxy, Redis's own INFO memory figures, and the size of the
history files, and writes each as a MetricSample (service "soak") into the run's events file.
"""
from __future__ import annotations

import threading
from pathlib import Path

import psutil

from harness.history import MetricSample

SOAK = "soak"  # the MetricSample.service of every soak sample


def process_figures(pid: int | None, children: bool) -> tuple[dict, dict]:
    """RSS bytes and open descriptors of a process (and, summed, of its children); {} if it is gone."""
    if pid is None:
        return {}, {}
    try:
        proc = psutil.Process(pid)
        rss, fds = {"master": proc.memory_info().rss}, {"master": proc.num_fds()}
        if children:
            kids = proc.children()
            rss["workers"] = sum(k.memory_info().rss for k in kids)
            fds["workers"] = sum(k.num_fds() for k in kids)
            rss["worker_count"] = len(kids)
    except psutil.Error:  # it exited between the listing and the reading
        return {}, {}
    return rss, fds


class ResourceSampler:
    """Sample the stack's resources on a thread until `stop()`; every sample goes to `recorder`."""

    def __init__(self, stack, recorder, history_paths, every_s: float = 5.0):
        self.stack, self.rec, self.every_s = stack, recorder, every_s
        self.history_paths = [Path(p) for p in history_paths]
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-resources", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=self.every_s + 10)

    def _loop(self) -> None:
        while True:
            try:
                self.sample()
            except Exception as err:  # one missed sample is a gap in a plot, not a failed soak
                if len(self.errors) < 20:
                    self.errors.append(f"{type(err).__name__}: {err}")
            if self._halt.wait(self.every_s):
                return

    def _write(self, name: str, labels: dict, value: float) -> None:
        t, wall = self.rec.now()
        self.rec.write(MetricSample(SOAK, name, labels, float(value), t, wall))

    def sample(self) -> None:
        """Take one round of samples."""
        for service, proc in self.stack.services.items():
            rss, fds = process_figures(proc.pid, children=True)
            for role in ("master", "workers"):
                if role in rss:
                    self._write("rss_bytes", {"process": f"{service}-{role}"}, rss[role])
                    self._write("open_fds", {"process": f"{service}-{role}"}, fds[role])
            if "worker_count" in rss:
                self._write("workers", {"process": service}, rss["worker_count"])
        for name, node in self.stack.nodes.items():
            rss, fds = process_figures(node.pid, children=False)
            if rss:
                self._write("rss_bytes", {"process": f"redis-{name}"}, rss["master"])
                self._write("open_fds", {"process": f"redis-{name}"}, fds["master"])
            try:
                with node.client(socket_timeout=2) as client:
                    info = client.info("memory")
            except Exception as err:
                self.errors.append(f"redis {name} INFO: {err}") if len(self.errors) < 20 else None
                continue
            self._write("redis_used_memory_bytes", {"node": name}, info["used_memory"])
            self._write("redis_rss_bytes", {"node": name}, info["used_memory_rss"])
        rss, fds = process_figures(self.stack.toxiproxy.pid, children=False)
        if rss:
            self._write("rss_bytes", {"process": "toxiproxy"}, rss["master"])
            self._write("open_fds", {"process": "toxiproxy"}, fds["master"])
        size = sum(p.stat().st_size for p in self.history_paths if p.exists())
        self._write("history_bytes", {}, size)
