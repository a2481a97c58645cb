"""Reports from a simulated run folder: CP refuses during a partition of g2, AP answers and goes stale.

``make_run_dir`` writes the folder the runner writes (history.jsonl, experiment.json, results.json),
with verdicts from the real checkers, so these tests do not depend on the runner or the stack.
"""
from __future__ import annotations

import json
import random
import re
import shutil

import pytest

from chaos.checkers import run_all
from chaos.report.build import ReportError, build_comparison, build_report
from harness.history import (BreakerSample, FaultEvent, HistoryWriter, MetricSample, NodeSnapshot, Op,
                             read_history, to_dict)
from harness.verdicts import compose

T0_MS = 1_700_000_000_000
FAULT_AT, FAULT_FOR, RUN_FOR = 4.0, 6.0, 16.0
CHECKERS = {
    "linearizable": {},
    # A deliberately wrong hypothesis, so the report has an invalid verdict with evidence.
    "availability": {"min_availability": {"cp": {"fault": 0.5}, "ap": {"fault": 0.99}}},
    "staleness": {"max_staleness_ms": 1000},
    "lost_writes": {"service": "ap"},
    "breakers": {"expect_open": ["cp:g2"], "open_within_s": 2, "close_within_s": 3},
}


def _wall(t: float) -> int:
    return T0_MS + int(round(t * 1000))


def simulate(services=("cp", "ap"), seed: int = 7, lose_write: bool = True,
             breakers: bool = True, clients: int = 3) -> list:
    """Return the events of a partition of g2: CP refuses in the window, AP answers with growing lag."""
    rng = random.Random(seed)
    stop = FAULT_AT + FAULT_FOR
    opened, closed = FAULT_AT + 0.3, stop + 0.7  # breaker timings of both services
    ops = []  # [start, end, effect, service, process, f, key, outcome, node]
    for svc in services:
        for p in range(clients):
            t = rng.uniform(0, 0.05)
            while t < RUN_FOR - 0.3:
                f = rng.choice(("read", "write"))
                in_fault = FAULT_AT <= t < closed
                if svc == "cp" and in_fault:
                    kind, dur = ("info", 0.3) if t < opened else ("fail", 0.002)
                else:
                    kind, dur = "ok", rng.uniform(0.002, 0.012 if svc == "cp" else 0.006)
                node = ("g1", "g2")[p % 2] if svc == "ap" else None
                ops.append([t, t + dur, rng.uniform(t, t + dur), svc, p, f, f"{svc}-k{rng.randrange(3)}", kind, node])
                t += dur + rng.uniform(0.05, 0.12)
    if "ap" in services and lose_write:  # acknowledged, then stored nowhere: lost_writes must catch it
        t = FAULT_AT + 2
        ops.append([t, t + 0.004, t + 0.002, "ap", clients, "write", "ap-lost", "ok", "g1"])
    events, state, seq = [], {}, 0
    for op in sorted(ops, key=lambda o: o[2]):  # apply each op at its linearization point
        start, end, effect, svc, p, f, key, kind, node = op
        events.append(Op("invoke", p, f, key, None, svc, start, _wall(start)))
        extra = {"latency_ms": round((end - start) * 1000, 3)}
        value = version = None
        if kind == "ok" and f == "write":
            seq += 1
            value, version = f"v{seq}", f"{_wall(effect)}.{seq}.1"
            events[-1] = Op("invoke", p, f, key, value, svc, start, _wall(start))
            if key != "ap-lost":
                state[key] = (value, version)
        elif kind == "ok":
            value, version = state.get(key, (None, None))
            if svc == "ap":
                lag = int((effect - FAULT_AT) * 1000) if node == "g2" and FAULT_AT <= effect < stop + 0.5 else 0
                extra.update(node=node, staleness_ms=lag, stale=lag > 1000)
        elif kind == "fail":
            extra.update(status=503, outcome="not_applied")
        else:
            extra.update(status=503, outcome="unknown", error="timeout")
        events.append(Op(kind, p, f, key, value, svc, end, _wall(end), version=version, **extra))
    events += _samples(services, opened, closed, breakers)
    events += [FaultEvent("start", "partition", "g2", FAULT_AT, _wall(FAULT_AT), {"node": "g2"}),
               FaultEvent("stop", "partition", "g2", stop, _wall(stop), {"node": "g2"})]
    recs = {k: {"value": v, "version": ver} for k, (v, ver) in sorted(state.items())}
    events += [NodeSnapshot(n, RUN_FOR - 0.1 + i * 0.01, _wall(RUN_FOR), recs) for i, n in enumerate(("g1", "g2"))]
    return sorted(events, key=lambda e: e.time)


def _samples(services, opened, closed, breakers: bool) -> list:
    """Breaker states and metrics every 0.25 s: g2's breakers open in the window, AP's g2 lag grows."""
    out, stop = [], FAULT_AT + FAULT_FOR
    for i in range(int(RUN_FOR / 0.25)):
        t = i * 0.25 + 0.01
        for svc in services:
            for node in ("g1", "g2"):
                state = "closed"
                if node == "g2" and opened <= t < closed:
                    state = "half-open" if stop + 0.5 <= t else "open"
                if breakers:
                    out.append(BreakerSample(svc, node, state, t, _wall(t)))
                if svc == "ap":
                    lag = (t - FAULT_AT) * 1000 if node == "g2" and FAULT_AT <= t < stop + 0.5 else 0
                    out.append(MetricSample("ap", "data_staleness_ms", {"node": node}, round(lag), t, _wall(t)))
                    pending = int((t - FAULT_AT) * 15) if node == "g2" and FAULT_AT <= t < stop + 0.5 else 0
                    out.append(MetricSample("ap", "caplab_hints_pending", {"node": node}, pending, t, _wall(t)))
    return out


def make_run_dir(root, name: str = "partition-g2", services=("cp", "ap"), **kw):
    """Write runs/<name>/<timestamp>/ as the runner does, with verdicts from the real checkers."""
    run = root / name / "20250101T120000"
    run.mkdir(parents=True)
    events = simulate(services, **kw)
    with HistoryWriter(run / "history.jsonl", t0=0.0) as w:
        for e in events:
            w.write(e)
    config = {k: v for k, v in CHECKERS.items()
              if (k != "linearizable" or "cp" in services) and (k not in ("staleness", "lost_writes") or "ap" in services)}
    if "availability" in config:
        config["availability"] = {"min_availability": {s: b for s, b in CHECKERS["availability"]["min_availability"].items()
                                                       if s in services}}
    if "breakers" in config and "cp" not in services:
        config["breakers"] = {"expect_open": ["ap:g2"], "open_within_s": 2, "close_within_s": 3}
    experiment = {
        "name": name, "title": f"Partition g2 ({'+'.join(services).upper()})",
        "hypothesis": "With g2 cut off, CP refuses with 503 within 1 s and stays linearizable; "
                      "AP keeps answering, reports growing staleness, and converges after the heal.",
        "services": list(services), "nodes": ["g1", "g2"],
        "workload": {"clients": 3, "keys": 3, "read_ratio": 0.5},
        "schedule": [{"at": FAULT_AT, "fault": "partition", "duration": FAULT_FOR, "params": {"node": "g2"}}],
        "checkers": config,
    }
    verdicts = run_all(read_history(run / "history.jsonl"), config)
    results = {"experiment": name, "overall": compose(verdicts).valid, "verdicts": [v.to_json() for v in verdicts],
               "started_at": "2025-01-01T12:00:00+00:00", "duration_s": RUN_FOR,
               "stack": {"NETWORK_TIMEOUT_SEC": 0.3, "BREAKER_FAIL_MAX": 3}}
    (run / "experiment.json").write_text(json.dumps(experiment, indent=2))
    (run / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One report of a run with both services; plots are slow, so tests share it."""
    run = make_run_dir(tmp_path_factory.mktemp("runs"))
    md, html = build_report(run)
    return run, md.read_text(), html.read_text()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A CP-only run and an AP-only run of the same schedule."""
    root = tmp_path_factory.mktemp("pair")
    return make_run_dir(root, "partition-cp", services=("cp",)), make_run_dir(root, "partition-ap", services=("ap",))


def _copy(run, tmp_path):
    return shutil.copytree(run, tmp_path / run.parent.name / run.name)


def test_the_simulated_run_has_an_invalid_verdict_and_a_valid_one(built):
    results = json.loads((built[0] / "results.json").read_text())
    kinds = {v["checker"]: v["valid"] for v in results["verdicts"]}
    assert results["overall"] == "invalid"
    assert kinds["availability"] == kinds["lost_writes"] == "invalid"
    assert kinds["linearizable"] == "valid"


def test_markdown_has_a_verdict_row_for_each_verdict(built):
    run, md, _ = built
    for v in json.loads((run / "results.json").read_text())["verdicts"]:
        assert re.search(rf"^\| {v['checker']} \| {v['valid']} \| ", md, re.M), v["checker"]
    assert "## Overall: ❌ INVALID" in md


def test_markdown_links_every_plot_saved_next_to_it(built):
    run, md, _ = built
    links = re.findall(r"\]\((plots/[^)]+\.png)\)", md)
    assert len(links) >= 10
    assert all((run / link).stat().st_size > 1000 for link in links)
    assert sorted(p.name for p in (run / "plots").glob("*.png")) == sorted(link[6:] for link in links)


def test_html_embeds_every_plot_and_fetches_nothing(built):
    run, _, html = built
    n = html.count('src="data:image/png;base64,')
    assert n == len(list((run / "plots").glob("*.png")))
    assert f'data-plots-expected="{n}"' in html
    # Both services in columns: each plot row for CP and for AP.
    for kind in ("throughput", "latency", "errors", "breakers"):
        assert f'title="{kind}-cp.png"' in html and f'title="{kind}-ap.png"' in html
    assert 'title="staleness-ap.png"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html


def test_html_shows_overall_hypothesis_fault_window_and_evidence(built):
    _, _, html = built
    assert 'class="overall v-invalid">Overall: INVALID' in html
    assert "CP refuses with 503" in html
    assert "Shaded: partition g2 4.0–10.0 s" in html
    assert "<h2>Evidence</h2>" in html
    evidence = html.split("<h2>Evidence</h2>")[1].split("<h2>Schedule</h2>")[0]
    assert "availability" in evidence and "lost_writes" in evidence
    assert "ap-lost" in evidence  # the lost write itself, by key
    assert "linearizable" not in evidence  # valid verdicts show no evidence


def test_schedule_planned_and_injected(built):
    _, md, _ = built
    assert "| 4.0 | partition | 6.0 | `{\"node\":\"g2\"}` |" in md
    assert "| partition | g2 | 4.00 | 0 | 10.00 | 0 |" in md  # an old history: changes took no time
    assert "| partition landing | 4 | 4 | " in md and "| fault partition | 4 | 10 | " in md


def test_transitions_get_their_rows_counts_and_hatching(built, tmp_path):
    run = _copy(built[0], tmp_path)
    stop = FAULT_AT + FAULT_FOR
    lines = [ln for ln in (run / "history.jsonl").read_text().splitlines() if '"type":"fault"' not in ln]
    staged = [FaultEvent(ph, "partition", "g2", t, _wall(t), {"node": "g2"}, stage=st) for ph, st, t in
              (("start", "invoke", FAULT_AT - 0.5), ("start", "complete", FAULT_AT), ("stop", "invoke", stop),
               ("stop", "complete", stop + 0.25))]
    lines += [json.dumps(to_dict(e)) for e in staged]
    (run / "history.jsonl").write_text("\n".join(lines) + "\n")
    before = (run / "plots" / "errors-cp.png").read_bytes()
    md, html = (f.read_text() for f in build_report(run))
    assert "| partition | g2 | 4.00 | 500 | 10.00 | 250 |" in md
    landing = next(ln for ln in md.splitlines() if ln.startswith("| partition landing | 3.5 | 4 | "))
    cp_ops = int(landing.split("|")[4].split("/")[0]) + int(landing.split("|")[4].split("/")[1])
    assert cp_ops > 0, landing  # ops in flight while the cut landed are counted there, not as steady
    assert "| partition lifting | 10 | 10.25 | " in md and "operations in flight)" in md
    assert '<tr class="window-transition"><td>partition landing</td>' in html
    assert (run / "plots" / "errors-cp.png").read_bytes() != before  # the transitions are drawn


def test_no_breaker_samples_gives_a_note_and_drops_old_breaker_plots(built, tmp_path):
    run = _copy(built[0], tmp_path)
    assert (run / "plots" / "breakers-cp.png").exists()
    kept = [ln for ln in (run / "history.jsonl").read_text().splitlines() if '"type":"breaker"' not in ln]
    (run / "history.jsonl").write_text("\n".join(kept) + "\n")
    md, html = build_report(run)
    assert "No plot: no breaker samples in this run." in md.read_text()
    assert "breakers-cp.png" not in html.read_text()
    assert not (run / "plots" / "breakers-cp.png").exists()
    assert (run / "plots" / "throughput-cp.png").exists()


def test_missing_results_and_experiment_are_notes(pair, tmp_path):
    run = _copy(pair[1], tmp_path)
    (run / "results.json").unlink()
    (run / "experiment.json").unlink()
    md = build_report(run)[0].read_text()
    assert "results.json is missing" in md and "## Overall: ⚠️ UNKNOWN" in md
    assert "throughput-ap.png" in md and "throughput-cp.png" not in md


def test_a_run_aborted_before_any_event_gives_notes_and_no_plots(pair, tmp_path):
    run = _copy(pair[0], tmp_path)
    (run / "history.jsonl").write_text("")
    results = json.loads((run / "results.json").read_text())
    results.update(overall="unknown", verdicts=[], aborted="steady state failed: cp /ready answered 503",
                   notes=["g2 was restarted by the heal"])
    (run / "results.json").write_text(json.dumps(results))
    md, html = build_report(run)
    text = md.read_text()
    for note in ("history.jsonl is empty", "Aborted: steady state failed", "g2 was restarted",
                 "No verdicts", "No plots", "## Overall: ⚠️ UNKNOWN"):
        assert note in text
    assert 'data-plots-expected="0"' in html.read_text()
    assert not list((run / "plots").glob("*.png"))


def test_corrupt_history_names_file_and_line(pair, tmp_path):
    run = _copy(pair[0], tmp_path)
    lines = (run / "history.jsonl").read_text().splitlines()
    lines[41] = lines[41][:-5] + "oops"
    (run / "history.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportError, match=rf"{re.escape(str(run / 'history.jsonl'))}:42: not JSON"):
        build_report(run)


def test_corrupt_results_and_missing_folder_are_report_errors(pair, tmp_path):
    run = _copy(pair[0], tmp_path)
    (run / "results.json").write_text('{"overall": ')
    with pytest.raises(ReportError, match=r"results.json:1: not JSON"):
        build_report(run)
    with pytest.raises(ReportError, match="no such run folder"):
        build_report(tmp_path / "nowhere")


def test_report_is_deterministic_apart_from_the_timestamp(built):
    run, md, html = built
    pngs = {p.name: p.read_bytes() for p in (run / "plots").glob("*.png")}
    again = [p.read_text() for p in build_report(run)]
    strip = lambda text: re.sub(r"Generated [^<_]*", "", text)  # noqa: E731
    assert [strip(t) for t in again] == [strip(md), strip(html)]
    assert pngs == {p.name: p.read_bytes() for p in (run / "plots").glob("*.png")}


def test_comparison_of_a_cp_run_and_an_ap_run(pair, tmp_path):
    cp, ap = pair
    md, html = build_comparison([cp, ap], tmp_path / "cmp")
    assert (md.name, html.name) == ("comparison.md", "comparison.html")
    text, page = md.read_text(), html.read_text()
    assert "# Comparison: partition-cp vs partition-ap" in text
    for col in ("partition-cp · cp", "partition-ap · ap"):
        assert col in text and col in page
    assert "throughput-partition-cp-cp.png" in text and "throughput-partition-ap-ap.png" in text
    assert page.count('src="data:image/png;base64,') == len(list((tmp_path / "cmp" / "plots").glob("*.png")))
    assert re.search(r"^\| linearizable \| valid \| — \|", text, re.M)
    assert "did not plan the same schedule" not in text


def test_comparison_needs_two_runs(pair, tmp_path):
    with pytest.raises(ReportError, match="at least two"):
        build_comparison([pair[0]], tmp_path / "cmp")
