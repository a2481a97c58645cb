"""Watch a Redis node's AOF grow: the sizes of its current increment file over time.

The ``aof-tail-torn`` drill uses the samples to cut each AOF back to what it held one second
before a simulated power cut (``appendfsync everysec`` at its worst).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path


class AofTail:
    """Sizes of one node's AOF increment file, sampled while the load runs."""

    def __init__(self, node, every_s: float = 0.05):
        self.node, self.every_s = node, every_s
        self.samples: list[tuple[float, Path, int]] = []  # (monotonic time, file, size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"aof-{node.node}", daemon=True)

    def current(self) -> Path | None:
        """The AOF file new writes are appended to: Redis 7's newest ``*.incr.aof``."""
        incr = sorted((self.node.data_dir / "appendonlydir").glob("*.incr.aof"),
                      key=lambda p: int(p.name.rsplit(".", 3)[-3]))
        return incr[-1] if incr else None

    def _run(self):
        while not self._stop.is_set():
            path = self.current()
            if path is not None:
                self.samples.append((time.monotonic(), path, path.stat().st_size))
            self._stop.wait(self.every_s)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)

    def size_before(self, seconds: float) -> tuple[Path, int] | None:
        """The file and its size ``seconds`` ago (the newest sample at least that old), or None."""
        cutoff = time.monotonic() - seconds
        old = [(path, size) for t, path, size in self.samples if t <= cutoff]
        return old[-1] if old else None
