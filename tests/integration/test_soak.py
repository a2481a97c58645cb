"""The soak, in its 2-minute version: load, a fault cycle, resource samples, checker timings, a report.

It runs on its own stack, on ports shifted away from the defaults and from the session's test
stack, and leaves nothing running. The growth targets are measured by `make soak` (30 minutes,
docs/benchmarks.md), not asserted here: two minutes say nothing about a slow leak.
"""
from __future__ import annotations

import json
import os

import pytest

from chaos.soak import SoakOptions, run_soak, soak_stack
from chaos.soak.report import load_samples

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_a_two_minute_soak_samples_everything_and_reports(tmp_path):
    offset = 8500 + int(os.environ.get("CAPLAB_TEST_PORT_OFFSET", "0"))
    opts = SoakOptions(duration_s=120, users=6, fault_every_s=20, fault_s=5, sample_every_s=2,
                       check_every_s=40, warmup_s=30, port_offset=offset,
                       stack_run_dir=str(tmp_path / "stack"), runs_dir=str(tmp_path / "runs"))
    run_dir = run_soak(opts, say=lambda _m: None)
    assert not any(row["running"] for row in soak_stack(opts).status()), "the soak left its stack running"

    series, faults = load_samples(run_dir / "events.jsonl")
    for process in ("cp-master", "cp-workers", "ap-master", "ap-workers", "redis-g1", "redis-g2", "toxiproxy"):
        assert len(series[("rss_bytes", process)]) >= 30, process
        assert all(v > 0 for _, v in series[("open_fds", process)]), process
    assert all(v > 0 for _, v in series[("redis_used_memory_bytes", "g1")])
    sizes = [v for _, v in series[("history_bytes", "")]]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    assert [w.name for w in faults][:3] == ["cut-g2", "slow-g1", "blackhole-g2"] and len(faults) >= 4

    results = json.loads((run_dir / "results.json").read_text())
    figs = results["figures"]
    assert figs["rss"]["cp-workers"]["after_warmup"] > 0 and figs["fds"]["ap-master"] is not None
    assert figs["history_mb_per_min"] > 0
    checks = results["checkers"]
    assert [c["history_bytes"] for c in checks] == \
        [json.loads(line)["history_bytes"] for line in (run_dir / "checks.jsonl").read_text().splitlines()]
    assert len(checks) >= 2 and all(c["peak_rss_bytes"] > 0 and c["check_seconds"] >= 0 for c in checks)
    assert checks[-1]["history_bytes"] >= checks[0]["history_bytes"]
    final = {v["checker"]: v["valid"] for v in checks[-1]["verdicts"]}
    assert final["linearizable"] == "valid" and final["staleness"] == "valid", checks[-1]
    for name in ("rss_bytes", "open_fds", "redis_used_memory_bytes", "history_bytes"):
        assert (run_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (run_dir / "soak.md").read_text()
    assert "RSS growth after warm-up" in text and "![rss_bytes](rss_bytes.png)" in text
