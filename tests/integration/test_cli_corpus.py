"""A corpus of hostile input to every CLI: experiment files, backup manifests and options, alerts,
load tests, bench, stack and chaos options.

Each named case runs the real command in a subprocess, in its own scratch folder holding a backup
and the case's files, and asserts: the exit code, a message that names what to fix, no traceback on
either stream, and not one byte changed in the folder (nothing stored, no run folder, no stack).
The cases run a few at a time, once per session, and each test reads its case's outcome.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backup.catalog import Manifest
from stack import ROOT

SHA = hashlib.sha256(b"REDIS0010").hexdigest()
BACKUP = "g1-20250112T020000Z"
GOOD_MANIFEST = Manifest(node="g1", name=BACKUP, created_at="2025-01-12T02:00:00Z", size=9, sha256=SHA,
                         keys=0, redis_version="7.0.15").to_json()
EXPERIMENT = """\
name: corpus
hypothesis: CP refuses while g2 is cut off
services: [cp, ap]
workload: {clients: 2, duration_s: 20}
schedule:
  - {name: cut, at: 5, duration: 10, fault: cut_node, params: {node: g2}}
checkers:
"""


@dataclass(frozen=True)
class Case:
    id: str
    argv: list  # after `python -m`; {tmp} is the scratch folder
    code: int
    says: str  # a fragment of the message that names the fix (case-insensitive)
    files: dict = field(default_factory=dict)  # name -> text or bytes, written before the run


def exp(checkers: str = "  linearizable: {}\n", **fields) -> str:
    """The base experiment with its checkers block (YAML) and top-level fields replaced."""
    text = EXPERIMENT + checkers
    for key, value in fields.items():
        text += f"{key}: {value}\n"
    return text


def chaos_file(id_: str, content, says: str) -> Case:
    return Case(f"experiment-{id_}", ["chaos", "run", "{tmp}/exp.yaml", "--runs-dir", "{tmp}/runs",
                                      "--stack-run-dir", "{tmp}/run", "--port-offset", "4050"], 2, says,
                {"exp.yaml": content})


def manifest(id_: str, says: str, **fields) -> Case:
    data = {**GOOD_MANIFEST, **fields}
    for key, value in fields.items():
        if value is DROP:
            data.pop(key)
    return Case(f"manifest-{id_}", ["backup", "list", "--root", "{tmp}/backups", "--node", "g1"], 1, says,
                {f"backups/g1/{BACKUP}.json": json.dumps(data)})


DROP = object()
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

EXPERIMENT_CASES = [
    chaos_file("not-utf8", b"name: caf\xe9\n", "is not UTF-8 text"),
    chaos_file("utf16", "name: x\n".encode("utf-16"), "is not UTF-8 text"),
    chaos_file("alias-bomb", BOMB, "write the value out instead of using &anchors and *aliases"),
    chaos_file("merge-key-alias", exp() + "x: &w {clients: 2}\nworkload: {<<: *w}\n", "aliases"),
    chaos_file("nested-too-deep", "name: " + "[" * 200 + "]" * 200 + "\n", "nested more than"),
    chaos_file("larger-than-a-megabyte", "# " + "x" * (1 << 20) + "\n", "is larger than"),
    chaos_file("empty-file", "", "must be a YAML mapping"),
    chaos_file("a-list", "- name: x\n", "must be a YAML mapping"),
    chaos_file("a-scalar", "just words\n", "must be a YAML mapping"),
    chaos_file("two-documents", exp() + "---\nname: y\n", "not valid YAML"),
    chaos_file("bad-indentation", "name: x\n  hypothesis: y\n bad", "not valid YAML"),
    chaos_file("min-availability-a-number", exp("  availability: {min_availability: 5}\n"),
               "checkers.availability.min_availability: must map a service to its windows"),
    chaos_file("min-availability-text", exp("  availability: {min_availability: high}\n"),
               "checkers.availability.min_availability: must map"),
    chaos_file("min-availability-service-null", exp("  availability: {min_availability: {cp: null}}\n"),
               "checkers.availability.min_availability.cp: must map windows to fractions"),
    chaos_file("min-availability-above-one", exp("  availability: {min_availability: {cp: {steady: 5}}}\n"),
               "min_availability.cp.steady: 5 is out of range; give a number between 0 and 1"),
    chaos_file("min-availability-nan", exp("  availability: {min_availability: {cp: {steady: .nan}}}\n"),
               "min_availability.cp.steady: nan is out of range"),
    chaos_file("min-availability-list", exp("  availability: {min_availability: {cp: [0.9]}}\n"),
               "min_availability.cp: must map windows"),
    chaos_file("min-availability-bound-text", exp("  availability: {max_availability: {cp: {fault: low}}}\n"),
               "max_availability.cp.fault: must be a number, got 'low'"),
    chaos_file("min-availability-unknown-service", exp("  availability: {min_availability: {db: {steady: 0.9}}}\n"),
               "min_availability.db: 'db' is not one of ['cp', 'ap']"),
    chaos_file("min-availability-unknown-window", exp("  availability: {min_availability: {cp: {sometimes: 0.9}}}\n"),
               "min_availability.cp.sometimes: is not a window"),
    chaos_file("expect-open-a-number", exp("  breakers: {expect_open: 5}\n"),
               "checkers.breakers.expect_open: must be a list of service:node pairs"),
    chaos_file("expect-open-a-string", exp("  breakers: {expect_open: 'cp:g2'}\n"), "must be a list of service:node"),
    chaos_file("expect-open-item-number", exp("  breakers: {expect_open: [5]}\n"),
               "checkers.breakers.expect_open[0]: 5 is not service:node"),
    chaos_file("expect-open-unknown-node", exp("  breakers: {expect_open: ['cp:g9']}\n"), "is not service:node"),
    chaos_file("breakers-fault-a-list", exp("  breakers: {fault: [1]}\n"),
               "checkers.breakers.fault: [1] is not a schedule name; use one of ['cut']"),
    chaos_file("max-steps-text", exp("  linearizable: {max_steps: many}\n"),
               "checkers.linearizable.max_steps: must be an integer, got 'many'"),
    chaos_file("max-steps-fraction", exp("  linearizable: {max_steps: 1.5}\n"), "max_steps: must be an integer"),
    chaos_file("time-limit-negative", exp("  linearizable: {time_limit_s: -1}\n"), "time_limit_s: -1 is out of range"),
    chaos_file("linearizable-service-list", exp("  linearizable: {service: [cp]}\n"),
               "checkers.linearizable.service: ['cp'] is not one of"),
    chaos_file("honest-staleness-text", exp("  staleness: {require_honest_staleness: 'yes'}\n"),
               "require_honest_staleness: must be true or false"),
    chaos_file("share-above-two", exp("  staleness: {max_share_above: 2}\n"), "max_share_above: 2 is out of range"),
    chaos_file("lost-writes-nodes", exp("  lost_writes: {nodes: some}\n"), "lost_writes.nodes: 'some' is not one of"),
    chaos_file("convergence-within-a-map", exp("  convergence: {within_s: {}}\n"), "convergence.within_s: must be a number"),
    chaos_file("checkers-a-list", exp("  - linearizable\n"), "checkers: must be a mapping"),
    chaos_file("checker-a-number", exp("  linearizable: 5\n"), "checkers.linearizable: must be a mapping"),
    chaos_file("checker-misspelt", exp("  linearisable: {}\n"), "did you mean 'linearizable'?"),
    chaos_file("flapping-down-above-period", EXPERIMENT.replace(
        "fault: cut_node, params: {node: g2}", "fault: flapping, params: {node: g2, period_sec: 2, down_sec: 3}")
        + "  linearizable: {}\n", "schedule[0].params.down_sec: 3 s is not shorter than period_sec (2 s)"),
    chaos_file("flapping-down-equals-period", EXPERIMENT.replace(
        "fault: cut_node, params: {node: g2}", "fault: flapping, params: {node: g2, period_sec: 2, down_sec: 2}")
        + "  linearizable: {}\n", "make down_sec shorter than period_sec"),
    chaos_file("duration-infinite", exp().replace("duration_s: 20", "duration_s: .inf"),
               "workload.duration_s: inf is out of range"),
    chaos_file("clients-a-bool", exp().replace("clients: 2", "clients: true"), "workload.clients: must be an integer"),
    chaos_file("nodes-text", exp(nodes="two"), "nodes: must be an integer, got 'two'"),
    chaos_file("schedule-a-mapping", exp().replace("\n  - {name: cut, at: 5, duration: 10, fault: cut_node, "
                                                   "params: {node: g2}}", " {at: 5}"),
               "schedule: must be a list of faults, got dict"),
    chaos_file("fault-at-nan", exp().replace("at: 5", "at: .nan"), "schedule[0].at: nan is out of range"),
    chaos_file("name-a-path", exp().replace("name: corpus", "name: ../etc"), "name: '../etc' is not allowed"),
    chaos_file("services-empty", exp().replace("services: [cp, ap]", "services: []"), "services: must be a name"),
    chaos_file("steady-before-a-string", exp(steady_state="{before: ready}"),
               "steady_state.before: must be a list of checks"),
    chaos_file("setting-text", exp(service_settings="{NETWORK_TIMEOUT_SEC: fast}"),
               "service_settings.NETWORK_TIMEOUT_SEC: must be a number"),
    chaos_file("alerts-firing-a-number", exp(alerts="{expect_firing: 5}"), "alerts.expect_firing: must be a list"),
    chaos_file("metric-bound-text", exp(expect_metrics="[{service: ap, metric: data_staleness_ms, node: g2, at_least: x}]"),
               "expect_metrics[0].at_least: must be a number"),
    chaos_file("hypothesis-a-date", exp().replace("hypothesis: CP refuses while g2 is cut off", "hypothesis: 2024-01-01"),
               "hypothesis: must be text"),
    Case("experiment-a-folder", ["chaos", "run", "{tmp}/dir.yaml"], 2, "cannot be read", {"dir.yaml/x": "a"}),
    Case("experiment-missing-yaml", ["chaos", "run", "{tmp}/nope.yaml"], 2, "cannot be read"),
    Case("experiment-unknown-name", ["chaos", "run", "partition-g2-cp-vs-aq"], 2, "did you mean 'partition-g2-cp-vs-ap'?"),
    Case("experiment-name-too-long", ["chaos", "run", "x" * 5000], 2, "give a catalogue name or a YAML file"),
]

BACKUP_CASES = [
    Case("keep-days-absurd", ["backup", "prune", "--root", "{tmp}/backups", "--keep-days", "99999999999"], 2,
         "--keep-days: 99999999999 is out of range; give a whole number from 0 to 36500"),
    Case("keep-days-negative", ["backup", "prune", "--root", "{tmp}/backups", "--keep-days", "-1"], 2, "from 0 to 36500"),
    Case("keep-days-text", ["backup", "prune", "--root", "{tmp}/backups", "--keep-days", "week"], 2, "is not a whole number"),
    Case("keep-last-fraction", ["backup", "prune", "--root", "{tmp}/backups", "--keep-last", "1.5"], 2, "is not a whole number"),
    Case("every-zero", ["backup", "schedule", "--every", "0s"], 2, "--every: 0s is out of range; give a duration from 0.1s to 31d"),
    Case("every-absurd", ["backup", "schedule", "--every", "99999999999d"], 2, "is not a duration"),
    Case("every-nan", ["backup", "schedule", "--every", "nan"], 2, "'nan' is not a duration"),
    Case("every-empty", ["backup", "schedule", "--every", ""], 2, "is not a duration"),
    Case("count-zero", ["backup", "schedule", "--count", "0"], 2, "--count: 0 is out of range"),
    Case("for-negative", ["backup", "schedule", "--for=-5m"], 2, "is not a duration"),
    Case("root-a-file", ["backup", "list", "--root", "{tmp}/afile"], 2, "exists and is not a folder"),
    Case("root-under-a-file", ["backup", "snapshot", "--root", "{tmp}/afile/sub"], 2, "exists and is not a folder"),
    Case("dr-root-a-file", ["backup", "copy", "--dr-root", "{tmp}/afile"], 2, "--dr-root: {tmp}/afile exists and is not a folder"),
    Case("run-dir-a-file", ["backup", "restore", "--run-dir", "{tmp}/afile", "--node", "g1"], 2, "is not a folder"),
    Case("nodes-zero", ["backup", "list", "--nodes", "0"], 2, "--nodes: 0 is out of range; give a whole number from 1 to 9"),
    Case("base-port-too-high", ["backup", "list", "--base-port", "70000"], 2, "from 1 to 65535"),
    Case("node-a-path", ["backup", "list", "--root", "{tmp}/backups", "--node", "../x"], 2, "bad node name"),
    Case("node-unknown", ["backup", "list", "--root", "{tmp}/backups", "--node", "g7"], 2, "unknown node 'g7'"),
    Case("backup-a-path", ["backup", "verify", "--root", "{tmp}/backups", "--node", "g1", "--backup", "../../etc/passwd"],
         2, "give a bare name"),
    Case("backup-of-another-node", ["backup", "verify", "--root", "{tmp}/backups", "--node", "g1", "--backup",
                                    "g2-20250112T020000Z"], 2, "belongs to node g2"),
    Case("restore-without-node", ["backup", "restore", "--root", "{tmp}/backups", "--run-dir", "{tmp}"], 2,
         "restore needs exactly one --node"),
    Case("restore-without-stack", ["backup", "restore", "--root", "{tmp}/backups", "--run-dir", "{tmp}", "--node", "g1"],
         2, "no local stack"),
    Case("drill-port-offset-negative", ["chaos.drills", "--port-offset", "-1"], 2, "from 0 to 50000"),
    Case("drill-rto-nan", ["chaos.drills", "--rto-target", "nan"], 2, "--rto-target: nan is out of range"),
    Case("drill-unknown", ["chaos.drills", "--only", "meteor"], 2, "unknown drill meteor"),
    manifest("size-text", "size is \"9\" (must be a whole number of bytes)", size="9"),
    manifest("size-null", "size is null", size=None),
    manifest("size-missing", "size is missing", size=DROP),
    manifest("keys-negative", "keys is -1", keys=-1),
    manifest("keys-bool", "keys is true", keys=True),
    manifest("sha-number", "sha256 is 5 (must be 64 hex digits)", sha256=5),
    manifest("created-a-number", "created_at is 5", created_at=5),
    manifest("created-not-a-time", "created_at is \"yesterday\"", created_at="yesterday"),
    manifest("node-null", "node is null", node=None),
    manifest("sample-a-list", "sample is [", sample=["k"]),
    manifest("sample-values-numbers", "must be a map of key to version text", sample={"k": 5}),
    manifest("seconds-text", "seconds is \"fast\"", seconds="fast"),
    manifest("format-unknown", "format is 2", format=2),
    manifest("redis-version-number", "redis_version is 7", redis_version=7),
    Case("manifest-a-list", ["backup", "list", "--root", "{tmp}/backups", "--node", "g1"], 1, "is not a JSON object",
         {f"backups/g1/{BACKUP}.json": "[1, 2]"}),
    Case("manifest-not-json", ["backup", "list", "--root", "{tmp}/backups", "--node", "g1"], 1, "is unreadable",
         {f"backups/g1/{BACKUP}.json": "{not json"}),
    Case("manifest-nested-too-deep", ["backup", "list", "--root", "{tmp}/backups", "--node", "g1"], 1, "is unreadable",
         {f"backups/g1/{BACKUP}.json": "[" * 100_000 + "]" * 100_000}),
    Case("manifest-not-utf8", ["backup", "list", "--root", "{tmp}/backups", "--node", "g1"], 1, "is unreadable",
         {f"backups/g1/{BACKUP}.json": b'{"node": "g\xff1"}'}),
    Case("manifest-nan", ["backup", "verify", "--root", "{tmp}/backups", "--node", "g1"], 1, "seconds is NaN",
         {f"backups/g1/{BACKUP}.json": json.dumps({**GOOD_MANIFEST, "seconds": float("nan")})}),
]

ALERTS_CASES = [
    Case(f"alerts-set-{n}", ["alerts", "render", "--out", "{tmp}/alerts", "--set", s], 2, says) for n, s, says in [
        ("nan", "p99_latency_s=nan", "p99_latency_s='nan' is not a finite number"),
        ("inf", "p99_latency_s=inf", "is not a finite number"),
        ("minus-inf", "error_ratio=-inf", "is not a finite number"),
        ("negative", "p99_latency_s=-1", "must be above 0"),
        ("ratio-five", "error_ratio=5", "error_ratio=5.0 is out of range; accepted: a ratio in (0, 1)"),
        ("unknown-name", "p99=0.5", "p99 is not an alert setting; known:"),
        ("profile", "profile=fast", "profile is not an alert setting"),
        ("integer-fraction", "hint_backlog=1.5", "hint_backlog='1.5' is not an integer"),
        ("integer-text", "breaker_open_for_s=soon", "is not an integer"),
        ("absurd-duration", "breaker_open_for_s=99999999999", "accepted: 1 to 604800"),
        ("no-equals", "hint_backlog", "expected name=value"),
        ("empty-value", "hint_backlog=", "expected name=value"),
        ("runbook-newline", "runbook_base=docs\nx", "must be one line of text"),
    ]] + [
    Case("alerts-set-without-out", ["alerts", "render", "--set", "hint_backlog=5"], 2, "give --out DIR"),
    Case("alerts-out-a-file", ["alerts", "render", "--out", "{tmp}/afile"], 2, "exists and is not a folder"),
    Case("alerts-webhook-port-zero", ["alerts", "webhook", "--port", "0"], 2, "from 1 to 65535"),
]

LOAD_CASES = [
    Case(f"load-{n}", ["loadtests.run", "--out", "{tmp}/load", *args], 2, says) for n, args, says in [
        ("error-rate-five", ["--max-error-rate", "5"], "'5' is not a fraction from 0 to 1"),
        ("error-rate-negative", ["--max-error-rate", "-0.1"], "is not a fraction"),
        ("error-rate-nan", ["--max-error-rate", "nan"], "is not a fraction"),
        ("p95-negative", ["--p95-ms", "-1"], "--p95-ms: -1 is out of range; give a number from 0.001 to 600000 ms"),
        ("p95-zero", ["--p95-ms", "0"], "out of range"),
        ("p95-inf", ["--p95-ms", "inf"], "out of range"),
        ("duration-zero", ["--duration", "0s"], "--duration: 0s is out of range; give a duration from 1s to 7d"),
        ("duration-text", ["--duration", "soon"], "'soon' is not a duration"),
        ("duration-unit", ["--duration", "10x"], "is not a duration"),
        ("users-zero", ["--users", "0"], "--users: 0 is out of range"),
        ("users-text", ["--users", "many"], "is not a whole number"),
        ("workers-too-many", ["--workers", "100"], "from 0 to 64"),
        ("spawn-rate-zero", ["--spawn-rate", "0"], "from 0.01 to 10000"),
        ("url-ftp", ["--cp-url", "ftp://127.0.0.1:5001"], "is not an http(s) base URL"),
        ("url-port", ["--ap-url", "http://127.0.0.1:99999"], "is not a URL"),
        ("refusals-maybe", ["--refusals-are-errors", "maybe"], "--refusals-are-errors"),
        ("shape-unknown", ["--shape", "wave"], "invalid choice: 'wave'"),
    ]] + [Case("load-out-a-file", ["loadtests.run", "--out", "{tmp}/afile"], 2, "exists and is not a folder")]

OTHER_CASES = [
    Case("chaos-port-offset-negative", ["chaos", "heal", "--port-offset", "-1"], 2, "from 0 to 50000"),
    Case("chaos-port-offset-huge", ["chaos", "heal", "--port-offset", "70000"], 2, "from 0 to 50000"),
    Case("chaos-port-offset-text", ["chaos", "heal", "--port-offset", "abc"], 2, "is not a whole number"),
    Case("chaos-runs-dir-a-file", ["chaos", "run", "partition-g2-cp-vs-ap", "--runs-dir", "{tmp}/afile"], 2,
         "exists and is not a folder"),
    Case("chaos-report-no-run", ["chaos", "report", "{tmp}/nothing"], 2, "has no history.jsonl"),
    Case("chaos-compare-out-a-file", ["chaos", "compare", "{tmp}/a", "{tmp}/b", "--out", "{tmp}/afile"], 2,
         "exists and is not a folder"),
    Case("soak-duration-short", ["chaos.soak", "--duration", "10s"], 2, "give a duration from 1m to 1d"),
    Case("soak-fault-longer-than-period", ["chaos.soak", "--fault-every", "10s", "--fault-for", "20s"], 2,
         "--fault-for (20 s) must be shorter than --fault-every (10 s)"),
    Case("crosscheck-mem-tiny", ["chaos", "crosscheck", "{tmp}/run", "--mem-mb", "1"], 2, "from 8 to 65536"),
    Case("crosscheck-timeout-nan", ["chaos", "crosscheck", "{tmp}/run", "--key-timeout", "nan"], 2, "out of range"),
    Case("rolling-update-at-after-end", ["loadtests.rolling_update", "--at", "100", "--duration", "60"], 2,
         "--at (100 s) must come before the end of the load"),
    Case("rolling-update-users-zero", ["loadtests.rolling_update", "--users", "0"], 2, "from 2 to 1000"),
    Case("soak-report-not-a-run", ["chaos.soak", "--report", "{tmp}"], 2, "is not a soak run folder"),
    Case("soak-report-a-file", ["chaos.soak", "--report", "{tmp}/afile"], 2, "exists and is not a folder"),
    Case("bench-seconds-zero", ["bench", "--seconds", "0"], 2, "--seconds: 0 is out of range"),
    Case("bench-connections-empty-item", ["bench", "--connections", "16,,64"], 2, "give comma-separated whole numbers"),
    Case("bench-connections-zero", ["bench", "--connections", "0"], 2, "from 1 to 10000"),
    Case("bench-out-no-folder", ["bench", "--out", "{tmp}/nowhere/b.md"], 2, "is not a file path in an existing folder"),
    Case("stack-nodes-zero", ["stack", "status", "--nodes", "0"], 2, "--nodes: 0 is out of range"),
    Case("stack-instances-ten", ["stack", "status", "--instances", "10"], 2, "--instances: 10 is out of range"),
    Case("stack-balance-unknown", ["stack", "status", "--balance", "random"], 2, "invalid choice: 'random'"),
    Case("bench-scaling-unknown", ["bench", "--scaling", "maybe"], 2, "invalid choice: 'maybe'"),
    Case("bench-port-offset-negative", ["bench", "--port-offset", "-5"], 2, "--port-offset: -5 is out of range"),
    Case("monitoring-webhook-port", ["alerts.monitoring", "up", "--webhook-port", "99999"], 2, "from 1 to 65535"),
    Case("stack-run-dir-a-file", ["stack", "status", "--run-dir", "{tmp}/afile"], 2, "exists and is not a folder"),
]

CASES = EXPERIMENT_CASES + BACKUP_CASES + ALERTS_CASES + LOAD_CASES + OTHER_CASES


def tree(folder: Path) -> dict:
    """Every file under a folder, with a digest of its bytes: the stored data a refusal must not touch."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def prepare(folder: Path, case: Case) -> Path:
    """A scratch folder with one sound backup, a plain file, and the case's own files."""
    (folder / "backups" / "g1").mkdir(parents=True)
    (folder / "backups" / "g1" / f"{BACKUP}.rdb").write_bytes(b"REDIS0010")
    (folder / "backups" / "g1" / f"{BACKUP}.json").write_text(json.dumps(GOOD_MANIFEST))
    (folder / "afile").write_text("a file, not a folder\n")
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case run once, a few at a time (each is a Python start-up: CPU, not waiting)."""
    rules_before = tree(ROOT / "alerts" / "rules")

    def run(case: Case):
        scratch = prepare(tmp_path_factory.mktemp(case.id), case)
        before = tree(scratch)
        argv = [a.replace("{tmp}", str(scratch)) for a in case.argv]
        proc = subprocess.run([sys.executable, "-m", *argv], cwd=scratch, capture_output=True, text=True,
                              errors="replace", timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        return case.id, (proc, scratch, before, tree(scratch))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, CASES))
    assert tree(ROOT / "alerts" / "rules") == rules_before, "a refused render changed the checked-in rules"
    return results


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_clearly(case, outcomes):
    proc, scratch, before, after = outcomes[case.id]
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == case.code, out
    assert case.says.replace("{tmp}", str(scratch)).lower() in out.lower(), out
    assert after == before, "a refused command changed the stored data"


def test_the_corpus_is_large_and_named_uniquely():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
