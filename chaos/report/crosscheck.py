"""A second opinion on the CP verdict: Porcupine (Go) judges the same register histories as caplab.

The history is turned into Porcupine's input with the modelling of ``chaos.checkers.linearizable``:
the same keys (CP keys written through CP only), a ``fail`` op never happened, a read without an
answer constrains nothing, an ``info`` write may take effect at any later time or never (it
returns at the end of time), a read that found the key absent returns nothing. Porcupine then
checks each key as its own partition (its partitioning by key), in ``.tools/bin/caplab-crosscheck``,
which ``scripts/setup.sh crosscheck`` builds from ``crosscheck/``. Its search is bounded in time
per key and in Go heap: past either bound the key answers unknown.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from chaos.checkers import linearizable
from harness.history import Op, read_history
from harness.pairs import pair_ops
from harness.verdicts import worst

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".tools" / "bin" / "caplab-crosscheck"
RESULTS = {"Ok": "valid", "Illegal": "invalid", "Unknown": "unknown"}
EXIT_AGREE, EXIT_DISAGREE, EXIT_USAGE, EXIT_NOT_RUN, EXIT_UNKNOWN = 0, 1, 2, 3, 4


class CrosscheckError(Exception):
    """The cross-check could not run (no binary, a crash); the message says what to do."""


def porcupine_ops(history, service: str = "cp") -> tuple[list[dict], dict]:
    """Return Porcupine's input ops for a history, and which keys were skipped or left empty."""
    ops = pair_ops(history, service=service)
    # Another service's writes are named by their invokes alone, so a malformed record of theirs
    # cannot stop the CP check.
    outside = {e.key for e in history if isinstance(e, Op) and e.type == "invoke"
               and e.service != service and e.f == "write"}
    keys = {c.key for c in ops}
    mixed = sorted(keys & outside)
    observed: dict[str, set] = {}
    for c in ops:
        if c.f == "read" and c.type == "ok":
            observed.setdefault(c.key, set()).add(c.value)
    out = []
    for c in ops:
        if c.key in mixed or c.type == "fail":
            continue  # written outside the history / certainly did not happen
        if c.f == "read" and c.type != "ok":
            continue  # a read without an answer could have returned anything
        if c.f == "write" and c.type == "info" and c.value not in observed.get(c.key, ()):
            continue  # never observed: taking effect last, or never, is always possible
        if c.end < c.start:
            raise ValueError(f"{c.f} by process {c.process} on {c.key!r} completes at t={c.end} "
                             f"before its invoke at t={c.start}")
        out.append({"key": c.key, "process": c.process, "f": c.f, "value": _text(c.value),
                    "call": _ns(c.start), "return": None if c.type == "info" else _ns(c.end)})
    checked = sorted(keys - set(mixed))
    present = {o["key"] for o in out}
    return out, {"keys": checked, "skipped_mixed_keys": mixed,
                 "empty_keys": [k for k in checked if k not in present]}


def run_porcupine(ops: list[dict], key_timeout_s: float = 30.0, mem_mb: int = 1024,
                  binary: Path | None = None) -> dict:
    """Run the Go checker on some ops; return its output (per key: result, reason, ops, linearized)."""
    exe = Path(binary or os.environ.get("CAPLAB_CROSSCHECK") or BINARY)
    if not os.access(exe, os.X_OK):
        raise CrosscheckError(f"no Porcupine checker at {exe}: build it with 'scripts/setup.sh crosscheck' "
                              "(needs Go >= 1.22), or 'make setup'")
    keys = len({o["key"] for o in ops})
    # Each key is bounded by the checker (twice for an illegal key, checked again for its prefix);
    # this bounds a hang.
    wall = 2 * key_timeout_s * max(keys, 1) + 60
    cmd = [str(exe), "-key-timeout", f"{key_timeout_s}s", "-mem-mb", str(int(mem_mb))]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(json.dumps({"ops": ops}), timeout=wall)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"keys": {k: {"result": "Unknown", "reason": f"no answer within {wall:.0f} s"}
                         for k in sorted({o["key"] for o in ops})}}
    if proc.returncode != 0:
        raise CrosscheckError(f"{exe} exited {proc.returncode}: {err.strip()[-500:]}")
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        raise CrosscheckError(f"{exe} printed no JSON result: {err.strip()[-500:]}") from None


@dataclass
class Crosscheck:
    """Both verdicts, per key, and whether they agree."""

    caplab: str
    porcupine: str
    rows: list = field(default_factory=list)  # {"key", "caplab", "porcupine", "ops", "agree", "note"}
    skipped_mixed_keys: list = field(default_factory=list)
    empty_keys: list = field(default_factory=list)
    caplab_summary: str = ""
    heap_peak_mb: float | None = None

    @property
    def disagreements(self) -> list[dict]:
        return [r for r in self.rows if r["agree"] == "no"]

    @property
    def exit_code(self) -> int:
        """1 when they disagree on a key; 4 when nothing disagrees but a key is undecided; else 0."""
        if self.disagreements:
            return EXIT_DISAGREE
        if not self.rows or any(r["agree"] != "yes" for r in self.rows):
            return EXIT_UNKNOWN
        return EXIT_AGREE

    def counts(self, side: str) -> dict:
        return {v: sum(r[side] == v for r in self.rows) for v in ("valid", "invalid", "unknown", "skipped")}


def crosscheck(history, service: str = "cp", key_timeout_s: float = 30.0, mem_mb: int = 1024,
               binary: Path | None = None) -> Crosscheck:
    """Judge a history with caplab's checker and with Porcupine, key by key."""
    history = list(history)
    ops, keys = porcupine_ops(history, service)
    mine = linearizable.check(history, service=service)
    out = run_porcupine(ops, key_timeout_s, mem_mb, binary) if ops else {}
    theirs = out.get("keys") or {}
    figures = mine.figures or {}
    bad, undecided = set(figures.get("invalid_keys") or []), set(figures.get("unknown_keys") or [])
    mixed_mine, mixed_theirs = set(figures.get("skipped_mixed_keys") or []), set(keys["skipped_mixed_keys"])
    rows = []
    for key in sorted((set(keys["keys"]) | mixed_mine | mixed_theirs) - set(keys["empty_keys"])):
        if key in mixed_mine and key in mixed_theirs:
            continue
        p = theirs.get(key) or {"result": "Unknown", "reason": "Porcupine gave no answer for this key"}
        row = {"key": key, "ops": p.get("ops"), "note": p.get("reason") or "",
               "caplab": "skipped" if key in mixed_mine else
               "invalid" if key in bad else "unknown" if key in undecided else "valid",
               "porcupine": "skipped" if key in mixed_theirs else RESULTS.get(p.get("result"), "unknown")}
        pair = {row["caplab"], row["porcupine"]}
        if "skipped" in pair:
            row["agree"], row["note"] = "no", "judged on one side only: the two modellings differ"
        else:
            row["agree"] = "yes" if len(pair) == 1 and "unknown" not in pair else \
                ("undecided" if "unknown" in pair else "no")
        if row["porcupine"] == "invalid" and not row["note"]:
            row["note"] = f"longest linearizable prefix: {p.get('linearized')} of {p.get('ops')} ops"
        rows.append(row)
    judged = [r["porcupine"] for r in rows if r["porcupine"] != "skipped"]
    verdict = worst(judged) if judged else "unknown"
    peak = out.get("heap_peak_bytes")
    return Crosscheck(mine.valid, verdict, rows, sorted(mixed_mine | mixed_theirs), keys["empty_keys"],
                      mine.summary, None if peak is None else round(peak / 2**20, 1))


def render(result: Crosscheck, title: str) -> str:
    """Return the cross-check as text: both verdicts, counts per key, and the keys that matter."""
    lines = [f"cross-check of {title}",
             f"{'checker':<10} {'verdict':<8} {'valid':>6} {'invalid':>8} {'unknown':>8}"]
    for side, verdict in (("caplab", result.caplab), ("porcupine", result.porcupine)):
        c = result.counts(side)
        lines.append(f"{side:<10} {verdict:<8} {c['valid']:>6} {c['invalid']:>8} {c['unknown']:>8}")
    if result.skipped_mixed_keys:
        lines.append(f"skipped (written through another service too): {', '.join(result.skipped_mixed_keys)}")
    if result.empty_keys:
        lines.append(f"not compared (no op constrains them): {', '.join(result.empty_keys)}")
    notable = [r for r in result.rows if r["agree"] != "yes" or r["caplab"] != "valid"]
    if notable:
        lines.append(f"{'key':<24} {'caplab':<8} {'porcupine':<9} {'agree':<9} note")
        lines += [f"{r['key']:<24} {r['caplab']:<8} {r['porcupine']:<9} {r['agree']:<9} {r['note']}" for r in notable]
    if result.heap_peak_mb is not None:
        lines.append(f"Porcupine's peak Go heap: {result.heap_peak_mb} MiB")
    word = {EXIT_AGREE: "they agree", EXIT_DISAGREE: f"they DISAGREE on {len(result.disagreements)} keys",
            EXIT_UNKNOWN: "no disagreement, but not every key was decided on both sides"}
    if not result.rows:
        word[EXIT_UNKNOWN] = "no CP key to compare: nothing proven either way"
    lines.append(f"{word[result.exit_code]} (exit {result.exit_code})")
    return "\n".join(lines)


def check_folders(run_dirs, key_timeout_s: float = 30.0, mem_mb: int = 1024) -> int:
    """Cross-check run folders, print each and, for several, a table; return the exit code."""
    rows = [(str(d), _check_folder(Path(d), key_timeout_s, mem_mb)) for d in run_dirs]
    if len(rows) > 1:
        words = {0: "agree", 1: "DISAGREE", 2: "bad folder", 3: "not run", 4: "undecided"}
        print(f"\n{'run':<60} {'caplab':<8} {'porcupine':<9} result")
        for d, (code, result) in rows:
            print(f"{d:<60} {result.caplab if result else '-':<8} {result.porcupine if result else '-':<9} "
                  f"{words.get(code, code)} ({code})")
    codes = [code for _, (code, _) in rows]
    return EXIT_DISAGREE if EXIT_DISAGREE in codes else max(codes)


def _check_folder(run_dir: Path, key_timeout_s: float, mem_mb: int) -> tuple[int, Crosscheck | None]:
    """Cross-check one run folder and print the result; return (exit code, result or None)."""
    path = run_dir / "history.jsonl"
    if not path.is_file():
        print(f"chaos: {path} does not exist; give a run folder such as runs/<experiment>/<timestamp>",
              file=sys.stderr)
        return EXIT_USAGE, None
    try:
        result = crosscheck(read_history(path), key_timeout_s=key_timeout_s, mem_mb=mem_mb)
    except ValueError as err:  # a corrupt line, or a history that cannot have happened
        print(f"chaos: cannot cross-check {path}: {err}", file=sys.stderr)
        return EXIT_USAGE, None
    except CrosscheckError as err:
        print(f"chaos: {err}", file=sys.stderr)
        return EXIT_NOT_RUN, None
    print(render(result, str(run_dir)), flush=True)
    return result.exit_code, result


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def _text(v):
    return v if v is None or isinstance(v, str) else json.dumps(v)
