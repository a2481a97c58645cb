"""`python -m chaos crosscheck` on a real run: Porcupine and caplab agree, also on mutated histories.

The run is a short CP experiment on the test stack with g2 cut off (ok, fail and info ops). The
mutations make it non-linearizable in two ways a broken store could: a read returns a value never
written, and a read returns a value written only after it completed. Needs the Go checker
(``scripts/setup.sh crosscheck``); skipped with that hint when it is missing.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from chaos.report.crosscheck import BINARY, crosscheck, porcupine_ops, render, run_porcupine
from chaos.experiment.files import parse_experiment
from chaos.run.runner import run_experiment
from harness.history import HistoryWriter, Op, read_history
from harness.pairs import pair_ops
from stack import ROOT, Stack
from stack.config import test_config
from tests.integration.live import restart_service
from tests.unit.histories import H

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not os.access(BINARY, os.X_OK),
                                 reason=f"no {BINARY}: run scripts/setup.sh crosscheck")]

SCENARIO = {
    "name": "crosscheck-cut", "profile": "test", "services": ["cp"],
    "hypothesis": "CP stays linearizable while g2 is cut off",
    "workload": {"clients": 4, "duration_s": 7, "read_ratio": 0.5, "keys": 4, "think_ms": 5},
    "schedule": [{"name": "cut-cp-g2", "at": 2, "duration": 3, "fault": "cut_service",
                  "params": {"service": "cp", "node": "g2"}}],
    "checkers": {"linearizable": {}},
}


def cli(run_dir, *args, env=None):
    """Run the command as a user would; return (exit code, stdout + stderr)."""
    proc = subprocess.run([sys.executable, "-m", "chaos", "crosscheck", str(run_dir), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def real_run(stack, tmp_path_factory):
    from tests.integration.live import wait_breakers_closed
    with stack.client() as tp:
        tp.reset()
    stack.ensure_proxies()
    wait_breakers_closed(stack)
    stack.flush()
    outcome = run_experiment(parse_experiment(SCENARIO, "scenario"), stack, tmp_path_factory.mktemp("runs"),
                             say=lambda *_a, **_k: None)
    return outcome.run_dir


def mutated(run_dir, tmp_path, change) -> tuple:
    """Copy a run folder with its history changed by change(events) -> (events, key)."""
    copy = shutil.copytree(run_dir, tmp_path / "mutated")
    events, key = change(read_history(copy / "history.jsonl"))
    (copy / "history.jsonl").unlink()
    with HistoryWriter(copy / "history.jsonl", t0=0.0) as w:
        for e in events:
            w.write(e)
    return copy, key


def read_never_written(events):
    i = next(i for i, e in enumerate(events) if isinstance(e, Op) and e.f == "read" and e.type == "ok")
    events[i] = dataclasses.replace(events[i], value="never-written")
    return events, events[i].key


def read_from_the_future(events):
    """A read that completed before a write was invoked returns that write's value."""
    done = pair_ops(events, service="cp")
    for w in (c for c in done if c.f == "write" and c.type == "ok"):
        r = next((c for c in done if c.key == w.key and c.f == "read" and c.type == "ok" and c.end < w.start), None)
        if r is not None:
            i = events.index(r.completion)
            events[i] = dataclasses.replace(events[i], value=w.value)
            return events, w.key
    raise AssertionError("no read before a write in the run")


def test_the_real_run_has_ok_fail_and_info_ops(real_run):
    kinds = {e.type for e in read_history(real_run / "history.jsonl") if isinstance(e, Op)}
    assert kinds >= {"invoke", "ok", "fail"}


def test_valid_run_both_valid_exit_0(real_run):
    code, out = cli(real_run)
    assert code == 0, out
    assert "caplab     valid" in out and "porcupine  valid" in out and "they agree (exit 0)" in out


@pytest.mark.parametrize("change", [read_never_written, read_from_the_future])
def test_mutated_run_both_invalid_on_the_same_key_exit_0(real_run, tmp_path, change):
    run, key = mutated(real_run, tmp_path, change)
    result = crosscheck(read_history(run / "history.jsonl"))
    assert result.caplab == result.porcupine == "invalid"
    assert [r["key"] for r in result.rows if r["porcupine"] == "invalid"] == [key]
    assert [r["key"] for r in result.rows if r["caplab"] == "invalid"] == [key]
    code, out = cli(run)
    assert code == 0, out
    assert "caplab     invalid" in out and "porcupine  invalid" in out


def test_several_folders_give_a_table_and_the_worst_exit(real_run, tmp_path):
    run, _ = mutated(real_run, tmp_path, read_never_written)
    code, out = cli(real_run, run)
    assert code == 0, out
    assert "valid    valid     agree (0)" in out and "invalid  invalid   agree (0)" in out
    code, out = cli(real_run, tmp_path / "nowhere")
    assert code == 2 and "bad folder (2)" in out


def test_a_disagreement_exits_1(real_run, tmp_path):
    """A stand-in for a Porcupine that misses the violation: the cross-check must say so."""
    run, key = mutated(real_run, tmp_path, read_never_written)
    ops, _ = porcupine_ops(read_history(run / "history.jsonl"))
    answer = {"keys": {k: {"result": "Ok", "ops": 1} for k in {o["key"] for o in ops}}}
    fake = tmp_path / "always-ok"
    fake.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(answer)}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    code, out = cli(run, env={"CAPLAB_CROSSCHECK": str(fake)})
    assert code == 1, out
    assert f"{key}" in out and "they DISAGREE on 1 keys (exit 1)" in out


def a_search_that_explodes(n=16, key="k"):
    """n concurrent writes and n concurrent reads of them, then a read of a value never written:
    Porcupine must try every order of the 2n ops before it can say no."""
    h = H()
    for i in range(n):
        h.write(i, key, f"w{i}", i * 0.001, 100.0)
        h.read(100 + i, key, f"w{(i * 7) % n}", 0.0005 + i * 0.001, 100.0)
    return h.read(999, key, "never", 200.0, 210.0).build()


def test_the_memory_bound_answers_unknown():
    ops, _ = porcupine_ops(a_search_that_explodes())
    out = run_porcupine(ops, key_timeout_s=600, mem_mb=16)
    assert out["keys"]["k"]["result"] == "Unknown"
    assert out["keys"]["k"]["reason"] == "heap over the 16 MiB bound"
    assert out["heap_peak_bytes"] < 2 * 16 * 2**20  # stopped near the bound, not after it


def test_the_time_bound_answers_unknown():
    ops, _ = porcupine_ops(a_search_that_explodes())
    out = run_porcupine(ops, key_timeout_s=0.2, mem_mb=4096)
    assert out["keys"]["k"]["result"] == "Unknown" and out["keys"]["k"]["reason"].startswith("time bound")


def test_an_unknown_key_is_not_a_disagreement_exit_4(tmp_path):
    run = tmp_path / "run"
    with HistoryWriter(run / "history.jsonl", t0=0.0) as w:
        for e in a_search_that_explodes(n=12) + H().write(1, "j", "a", 0, 1).read(2, "j", "a", 2, 3).build():
            w.write(e)
    code, out = cli(run, "--mem-mb", "16")
    assert code == 4, out
    assert "porcupine  unknown       1        0        1" in out
    assert "heap over the 16 MiB bound" in out


def test_a_real_broken_store_is_invalid_for_both(tmp_path):
    """The broken store of test_broken_store.py (CP reads one node): a real invalid history."""
    from tests.integration.test_broken_store import SCENARIO as STALE_LAST_NODE
    config = test_config(tmp_path / "three", offset=700, nodes=("g1", "g2", "g3"))
    with Stack(config).running() as stack:
        restart_service(stack, "cp", CAPLAB_TEST_UNSAFE_CP_READ="1")
        outcome = run_experiment(parse_experiment(STALE_LAST_NODE, "scenario"), stack, tmp_path / "runs",
                                 say=lambda *_a, **_k: None)
    result = crosscheck(read_history(outcome.run_dir / "history.jsonl"))
    assert result.caplab == result.porcupine == "invalid", render(result, "broken store")
    assert result.exit_code == 0, render(result, "broken store")


def test_bad_folder_exit_2_and_missing_checker_exit_3(real_run, tmp_path):
    code, out = cli(tmp_path / "nowhere")
    assert code == 2 and "history.jsonl does not exist" in out
    code, out = cli(real_run, env={"CAPLAB_CROSSCHECK": str(tmp_path / "missing")})
    assert code == 3 and "scripts/setup.sh crosscheck" in out
