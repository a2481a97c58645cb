"""The progress line: elapsed time, active faults, ops/s, errors and breaker states.

On a terminal one line is rewritten in place; otherwise (CI, a pipe) a plain line every few seconds.
"""
from __future__ import annotations

import shutil
import sys
import time


class Progress:
    def __init__(self, total_s: float | None, stream=None, plain_every_s: float = 2.0):
        self.total_s, self.stream = total_s, stream or sys.stdout
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.plain_every_s = plain_every_s
        self._last_print = -1e9
        self._rate_at, self._rate_ops, self._rate = time.monotonic(), 0, 0.0

    def line(self, elapsed: float, faults: list[str], stats, breakers: dict) -> str:
        now, total = time.monotonic(), stats.total()
        if now - self._rate_at >= 1.0:
            self._rate = (total - self._rate_ops) / (now - self._rate_at)
            self._rate_at, self._rate_ops = now, total
        opened = [f"{s}:{n}={st.upper()}" for s, d in sorted(breakers.items())
                  for n, st in sorted(d.items()) if st != "closed"]
        span = "?" if self.total_s is None else f"{self.total_s:.0f}"
        return (f"[{elapsed:5.1f}/{span}s] fault: {', '.join(faults) or '-'} | "
                f"{self._rate:4.0f} ops/s | ok {stats.total('ok')} fail {stats.total('fail')} "
                f"info {stats.total('info')} | breakers: {' '.join(opened) or 'all closed'}")

    def update(self, elapsed: float, faults: list[str], stats, breakers: dict) -> None:
        text = self.line(elapsed, faults, stats, breakers)
        if self.tty:
            width = shutil.get_terminal_size((120, 20)).columns - 1
            self.stream.write("\r" + text[:width].ljust(width))
            self.stream.flush()
        elif time.monotonic() - self._last_print >= self.plain_every_s:
            self._last_print = time.monotonic()
            print(text, file=self.stream, flush=True)

    def say(self, message: str) -> None:
        """Print a message on its own line, without breaking the progress line."""
        if self.tty:
            self.stream.write("\r" + " " * (shutil.get_terminal_size((120, 20)).columns - 1) + "\r")
        print(message, file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
