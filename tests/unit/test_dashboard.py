"""The dashboard's pure parts: history events folded into points, the run tail, the catalogue list,
the vendored uPlot, and the server's JSON answers (Flask's test client, no processes started)."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from dashboard.catalogue import experiments, predictions
from dashboard.feed import Feed, percentile
from dashboard.tail import RunTail
from harness.history import BreakerSample, FaultEvent, MetricSample, Op, to_dict

STATIC = Path(__file__).resolve().parents[2] / "dashboard" / "static"
VENDOR = STATIC / "vendor" / "uplot-1.6.32"
T0 = 1_700_000_000.0  # a wall-clock second, on a tick boundary


def op(kind, wall, service="cp", latency=10.0, stale=None, f="read"):
    return Op(kind, 1, f, "k", None, service, 0.0, int(wall * 1000), latency_ms=latency, stale=stale)


def test_points_count_completions_by_outcome_over_the_trailing_second():
    feed = Feed(tick_s=0.25, lag_s=0.0)
    feed.advance(T0)
    for i in range(8):
        feed.write(op("ok", T0 + 0.1 + i * 0.1, latency=float(i + 1)))
    feed.write(op("fail", T0 + 0.5))
    feed.write(op("info", T0 + 0.6, service="ap"))
    feed.write(op("invoke", T0 + 0.6))  # invokes are not completions
    points = feed.advance(T0 + 1.0)
    assert [p["t"] for p in points] == [T0 + 0.25, T0 + 0.5, T0 + 0.75, T0 + 1.0]
    last = points[-1]["services"]
    assert (last["cp"]["ok"], last["cp"]["fail"], last["cp"]["info"]) == (8, 1, 0)
    assert last["ap"]["info"] == 1
    assert last["cp"]["p50"] == 5.0 and last["cp"]["p99"] == 10.0  # nearest rank over 1..8 and 10
    assert points[0]["services"]["cp"]["ok"] == 2  # 0.1 and 0.2 only
    assert feed.counts["cp"] == {"ok": 8, "fail": 1, "info": 0, "stale": 0}


def test_gauges_hold_their_last_value_and_faults_become_labelled_bands():
    feed = Feed(tick_s=0.5, lag_s=0.0)
    feed.advance(T0)
    feed.write(BreakerSample("cp", "g2", "closed", 0.0, int((T0 + 0.1) * 1000)))
    feed.write(BreakerSample("cp", "g2", "open", 0.0, int((T0 + 0.7) * 1000)))
    feed.write(to_dict(MetricSample("ap", "data_staleness_ms", {"node": "g2"}, 1500.0, 0.0, int((T0 + 0.2) * 1000))))
    feed.write(FaultEvent("start", "cut-g2", "cp->g2", 0.0, int((T0 + 0.6) * 1000), stage="invoke"))
    feed.write(FaultEvent("start", "cut-g2", "cp->g2", 0.0, int((T0 + 0.65) * 1000), stage="complete"))
    points = feed.advance(T0 + 1.5)
    assert [p["services"]["cp"]["breaker"]["g2"] for p in points] == [0, 2, 2]
    assert [p["services"]["ap"]["staleness"]["g2"] for p in points] == [1500.0] * 3
    assert feed.faults() == [{"name": "cut-g2", "target": "cp->g2", "start": T0 + 0.6, "end": None}]
    feed.write(FaultEvent("stop", "cut-g2", "cp->g2", 0.0, int((T0 + 1.8) * 1000), stage="invoke"))
    assert feed.faults()[0]["end"] is None  # the band lasts until the heal is confirmed
    feed.write(FaultEvent("stop", "cut-g2", "cp->g2", 0.0, int((T0 + 1.9) * 1000), stage="complete"))
    assert feed.faults()[0]["end"] == T0 + 1.9


def test_old_points_and_bands_leave_the_screen_and_stale_reads_are_counted():
    feed = Feed(tick_s=1.0, keep_s=5.0, lag_s=0.0)
    feed.advance(T0)
    feed.write(FaultEvent("start", "x", "ap->g1", 0.0, int((T0 + 0.5) * 1000)))
    feed.write(FaultEvent("stop", "x", "ap->g1", 0.0, int((T0 + 1.0) * 1000)))
    feed.write(op("ok", T0 + 0.5, service="ap", stale=True))
    feed.write(op("ok", T0 + 0.5, service="ap", stale=True, f="write"))  # only reads are stale
    feed.advance(T0 + 10)
    assert len(feed.points) == 6 and feed.points[0]["t"] == T0 + 5
    assert feed.faults() == []
    assert feed.counts["ap"]["stale"] == 1
    feed.reset_counts()
    assert feed.counts["ap"] == {"ok": 0, "fail": 0, "info": 0, "stale": 0}


def test_external_rates_fill_ticks_without_operations_only():
    feed = Feed(tick_s=1.0, lag_s=0.0)
    feed.advance(T0)
    feed.external({"cp": {"ok": 12.5, "p99": float("nan"), "bogus": 1}}, wall=T0 + 1)
    feed.write(op("ok", T0 + 1.5, service="ap"))
    p = feed.advance(T0 + 2)[-1]["services"]
    assert p["cp"]["ok"] == 12.5 and p["cp"]["p99"] is None and "bogus" not in p["cp"]
    assert p["ap"]["ok"] == 1  # the history wins where it has operations


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3, 1, 2], 50) == 2 and percentile(range(1, 101), 99) == 99


def test_tail_reads_whole_lines_only_and_follows_the_newest_run(tmp_path):
    stack_dir, run = tmp_path / "stack", tmp_path / "runs" / "x" / "1"
    stack_dir.mkdir()
    run.mkdir(parents=True)
    feed = Feed(lag_s=0.0)
    tail = RunTail(stack_dir, feed, tmp_path / "runs")
    tail.poll()
    assert tail.phase == "idle" and tail.status() == {"phase": "idle"}
    (stack_dir / "live-run.json").write_text(json.dumps({"run_dir": str(run), "pid": 2 ** 22 + 7}))
    (run / "experiment.json").write_text(json.dumps({"name": "x", "hypothesis": "h", "workload": {"duration_s": 9},
                                                     "schedule": [{"name": "cut", "fault": "cut_node", "at": 1,
                                                                   "duration": 2, "params": {}}]}))
    line = json.dumps(to_dict(op("ok", T0)))
    (run / "history.jsonl").write_text(line + "\n" + line[:20])  # the second line is being written
    tail.poll()
    assert feed.counts["cp"]["ok"] == 1
    with open(run / "history.jsonl", "a") as f:
        f.write(line[20:] + "\nnot json\n")
    tail.poll()
    assert feed.counts["cp"]["ok"] == 2
    assert tail.phase == "ended"  # no record, and its runner's pid is gone
    (run / "results.json").write_text(json.dumps({"overall": "valid", "duration_s": 9.5, "verdicts": [
        {"checker": "heal", "valid": "valid", "summary": "ok"}]}))
    tail.poll()
    status = tail.status()
    assert status["phase"] == "finished" and status["schedule"][0]["name"] == "cut"
    assert status["verdicts"] == [{"checker": "heal", "valid": "valid", "summary": "ok"}]
    assert status["report"] == "/runs/x/1/report.html" and status["elapsed_s"] == 9.5


def test_every_catalogue_experiment_has_a_question_and_a_prediction_from_the_guide():
    guide = predictions()
    items = experiments()
    assert len(items) >= 9
    for e in items:
        assert e["question"], e["name"]
        assert e["prediction"] and e["prediction"] == guide[e["name"]], e["name"]
        assert "**" not in e["prediction"] and "\n" not in e["prediction"]


def test_uplot_is_vendored_pinned_with_its_licence_and_the_page_loads_nothing_from_outside():
    sums = {name: hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
            for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE")}
    assert sums == {"uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
                    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
                    "LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd"}
    assert (VENDOR / "uPlot.iife.min.js").read_text().startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    page = (STATIC / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith("/static/") or ref in ("data:,", "#"), f"{ref}: the page must work offline"
        if ref.startswith("/static/"):
            assert (STATIC / ref[len("/static/"):]).is_file(), ref
    script = (STATIC / "dashboard.js").read_text()
    assert not re.search(r"https?://", script), "no address outside the dashboard in the page's script"


@pytest.fixture
def client(tmp_path):
    from dashboard.hub import Hub
    from dashboard.launcher import Launcher
    from dashboard.server import create_app
    from stack import Stack
    from stack.config import test_config
    stack = Stack(test_config(tmp_path / "stack"))  # built, never started
    hub = Hub(stack, tmp_path / "runs")
    app = create_app(hub, Launcher(stack.run_dir, tmp_path / "runs", 0, tmp_path), tmp_path / "runs")
    return app.test_client()


def test_server_answers_json_and_refuses_clearly(client):
    state = client.get("/api/state").get_json()
    assert state["run"] == {"phase": "idle"} and state["services"] == ["cp", "ap"] and state["points"] == []
    assert client.post("/api/halt", json={}).get_json() == {"error": "no experiment is running: nothing to halt"}
    for body, status in (("x", 400), ({"name": 3}, 400), ({"name": "nope"}, 400)):
        resp = client.post("/api/run", json=body)
        assert resp.status_code == status and "error" in resp.get_json()
    # a form post from another site, or a page reached through another host name, changes nothing
    assert client.post("/api/halt", data={"x": 1}).status_code == 415
    assert client.post("/api/run", json={"name": "paused-node"}, headers={"Host": "evil.example:8080"}).status_code == 403
    assert "pick one of" in client.post("/api/run", json={"name": "quorum-3-nodes"}).get_json()["error"]
    assert client.get("/nope").status_code == 404 and client.get("/nope").is_json
    assert client.delete("/api/halt").status_code == 405 and client.delete("/api/halt").is_json
    assert client.get("/runs/../../etc/passwd").status_code == 404
    assert client.get("/runs/x/secret.txt").get_json()["error"].startswith("only a run's")
    listed = {e["name"]: e for e in client.get("/api/experiments").get_json()}
    assert listed["partition-g2-cp-vs-ap"]["startable"] and not listed["quorum-3-nodes"]["startable"]
    assert "3-node" in listed["quorum-3-nodes"]["why_not"]
    natives = [e for e in listed.values() if "native" in e["services"]]
    assert all(not e["startable"] and "does not chart" in e["why_not"] for e in natives)
    assert listed["partition-g2-cp-vs-ap"]["why_not"] == ""
    page = client.get("/")
    assert page.status_code == 200 and b"uPlot.iife.min.js" in page.data


def test_a_halt_is_refused_once_the_run_heals(client, tmp_path):
    import os
    run = tmp_path / "runs" / "x" / "1"
    run.mkdir(parents=True)
    pointer = {"run_dir": str(run), "pid": os.getpid(), "phase": "under-load"}
    (tmp_path / "stack" / "live-run.json").write_text(json.dumps(pointer))
    tail = client.application.config["hub"].tail
    tail.poll()
    assert tail.status()["stage"] == "under-load"
    (tmp_path / "stack" / "live-run.json").write_text(json.dumps({**pointer, "phase": "healing"}))
    tail.poll()
    resp = client.post("/api/halt", json={})
    assert resp.status_code == 409 and "healing already" in resp.get_json()["error"]
    assert not (run / "halt.json").exists()
    (tmp_path / "stack" / "live-run.json").write_text(json.dumps(pointer))
    tail.poll()
    assert client.post("/api/halt", json={}).status_code == 202
    assert json.loads((run / "halt.json").read_text())["by"] == "a person"
