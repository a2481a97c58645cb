"""docs/benchmarks.md from the bench results: the machine, the command, the table, the targets."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import scaling, workers

ANALYSIS = Path(__file__).with_name("analysis.md")  # hand-written "where the time goes", kept across runs
SOAK = Path(__file__).with_name("soak.md")  # the last `make soak`'s figures, kept across runs
TARGETS = {"ap": 0.8, "cp": 0.6}  # throughput as a share of the baseline, at 16 connections
P99_MS, REFUSAL_P99_MS, REPLAY_PER_S = 50.0, 5.0, 5000.0


def _cmd(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def _version_or_none(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine(started, command) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "command": command,
            "cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_gib, 1),
            "python": platform.python_version(), "redis_py": version("redis"), "hiredis": _version_or_none("hiredis"),
            "flask": version("flask"), "gunicorn": version("gunicorn"),
            "redis_server": _cmd(["redis-server", "--version"]).split(" ")[2].removeprefix("v="),
            "wrk": _cmd(["wrk", "--version"]).split("\n")[0].split(" ")[1] if _cmd(["wrk", "--version"]) else "?"}


def rows(results, conns):
    by = {(r["target"], r["connections"]): r for r in results["throughput"]}
    out = []
    for c in sorted({r["connections"] for r in results["throughput"]}):
        for mode in ("write", "read"):
            base = by.get((f"baseline {mode}", c))
            for svc in ("baseline", "baseline-via-toxiproxy", "cp", "ap"):
                r = by.get((f"{svc} {mode}", c))
                if r is None:
                    continue
                ratio = r["rps"] / base["rps"] if base else float("nan")
                goal = TARGETS.get(svc) if c == conns else None
                ok = "" if goal is None else ("pass" if ratio >= goal else "FAIL")
                p99_ok = "" if c != conns or svc.startswith("baseline") else (
                    "pass" if r["p99_ms"] < P99_MS else "FAIL")
                out.append((svc, mode, c, r["rps"], r["p50_ms"], r["p99_ms"], ratio, goal, ok, p99_ok,
                            r["non_2xx"] + r["socket_errors"]))
    return out


def markdown(results, conns) -> str:
    m = results["meta"]
    lines = [
        "# Benchmarks", "",
        f"Measured {m['date']} with `{m['command']}` on {m['cpus']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB; Python {m['python']}, redis-py {m['redis_py']}"
        f"{' with hiredis ' + m['hiredis'] if m.get('hiredis') else ' (pure-Python parser)'}, Flask {m['flask']}, "
        f"gunicorn {m['gunicorn']} (2 gevent workers everywhere, unless said otherwise), redis-server {m['redis_server']}, "
        f"wrk {m['wrk']} (2 threads, closed loop). The load generator shares the 2 cores with the "
        "services, Toxiproxy and Redis, as it would on a laptop.", "",
        "The baseline is a minimal Flask app under the same gunicorn settings doing one plain redis-py "
        "`SET` or `GET` against g1 directly (`bench/baseline.py`). CP and AP go through Toxiproxy to "
        "both nodes, as in every experiment. Ratios are throughput relative to the baseline at the same "
        "connection count.", "",
        "| service | op | conns | req/s | p50 ms | p99 ms | × baseline | target | throughput | p99 < 50 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for svc, mode, c, rps, p50, p99, ratio, goal, ok, p99_ok, errs in rows(results, conns):
        lines.append(f"| {svc} | {mode} | {c} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {ratio:.2f} | "
                     f"{'≥ %.1f' % goal if goal else ''} | {ok} | {p99_ok} | {errs} |")
    ff, hr, cv = results["fail_fast"], results["hint_replay"], results["convergence"]
    lines += [
        "", "## Extras", "",
        "| measure | result | target | |",
        "|---|---|---|---|",
        f"| CP refusal with g2's breaker open, 16 conns (closed loop: ~8 requests queue per worker) | "
        f"p50 {ff['p50_ms']:.2f} ms, p99 {ff['p99_ms']:.2f} ms, {ff['rps']:.0f} req/s | "
        f"p99 < {REFUSAL_P99_MS:.0f} ms | {'pass' if ff['p99_ms'] < REFUSAL_P99_MS else 'FAIL'} |",
        *refusal_alone(ff.get("one_connection")),
        f"| hint replay g1 → g2 through Toxiproxy | {hr['hints_per_s']:.0f} hints/s ({hr['hints']} in "
        f"{hr['seconds']:.2f} s) | ≥ {REPLAY_PER_S:.0f} hints/s | "
        f"{'pass' if hr['hints_per_s'] >= REPLAY_PER_S else 'FAIL'} |",
        f"| AP convergence after a {cv['partition_s']:.0f} s partition under write load | breaker closed "
        f"{cv['breaker_closed_after_s']:.1f} s after heal, hints drained {cv['converged_after_s']:.1f} s "
        f"after heal ({cv['hinted_keys']:.0f} keys hinted, lag {cv['lag_at_heal_ms'] / 1000:.1f} s at heal) | "
        "measured | |",
    ]
    for r in results["throughput"]:
        if "cp_unknown" in r:
            lines.append(f"| CP writes answered 503 unknown under same-key contention, {r['connections']} conns | "
                         f"{r['cp_unknown']} of {r['requests']} | 0 | {'pass' if r['cp_unknown'] == 0 else 'FAIL'} |")
    base = {r["target"]: r for r in results["throughput"] if r["connections"] == conns}
    hop = [(m_, base.get(f"baseline-via-toxiproxy {m_}"), base.get(f"baseline {m_}")) for m_ in ("write", "read")]
    for m_, via, direct in hop:
        if via and direct:
            lines.append(f"| Toxiproxy's extra hop, baseline {m_} ({conns} conns) | "
                         f"{via['rps'] / direct['rps']:.2f}× throughput, p50 +{via['p50_ms'] - direct['p50_ms']:.2f} ms | "
                         "measured | |")
    lines += workers.markdown(results.get("worker_model", []))
    lines += scaling.markdown(results.get("scaling", []))
    lines += ["", "Raw numbers: `runs/bench/<timestamp>/results.json`.", "", ANALYSIS.read_text()]
    if SOAK.exists():
        lines += ["", SOAK.read_text()]
    return "\n".join(lines)


def refusal_alone(one) -> list[str]:
    """The table row for the refusal at one connection, where no queue hides its cost."""
    if not one:
        return []
    verdict = "pass" if one["p99_ms"] < REFUSAL_P99_MS else "FAIL"
    return [f"| CP refusal with g2's breaker open, 1 conn (the refusal's own cost) | "
            f"p50 {one['p50_ms']:.2f} ms, p99 {one['p99_ms']:.2f} ms, {one['rps']:.0f} req/s | "
            f"p99 < {REFUSAL_P99_MS:.0f} ms | {verdict} |"]


def summary(results, conns) -> str:
    return "\n".join(f"{svc:>24} {mode:<5} c={c:<3} {rps:8.0f} req/s  {ratio:4.2f}× baseline  {ok} "
                     f"p99 {p99:6.2f} ms {p99_ok}"
                     for svc, mode, c, rps, _p50, p99, ratio, _g, ok, p99_ok, _e in rows(results, conns))
