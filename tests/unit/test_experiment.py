"""Experiment files: every problem is reported with its field path and fix; the catalogue is valid."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from chaos.experiment.files import (ExperimentError, catalogue, find_experiment, load_experiment,
                              parse_experiment)
from chaos.nemesis.fault_types import FAULTS
from stack import ROOT

GOOD = {
    "name": "demo", "hypothesis": "CP refuses while g2 is cut off", "services": ["cp", "ap"],
    "workload": {"clients": 2, "duration_s": 20},
    "schedule": [{"at": 5, "duration": 10, "fault": "cut_node", "params": {"node": "g2"}}],
    "checkers": {"linearizable": {}, "availability": {"max_availability": {"cp": {"fault": 0.0}}}},
}


def problems(data) -> list[str]:
    with pytest.raises(ExperimentError) as err:
        parse_experiment(data, "x.yaml")
    assert str(err.value).startswith("x.yaml: ")
    return err.value.problems


def with_(**changes):
    return {**GOOD, **changes}


def test_good_experiment_gets_defaults():
    e = parse_experiment(GOOD)
    assert e.nodes == 2 and e.profile == "local" and e.workload.read_ratio == 0.5
    spec = e.schedule[0]
    assert spec.name == "cut_node" and spec.end == 15
    assert spec.params == {"node": ["g2"], "services": None, "mode": "refuse"}
    assert [c.check for c in e.steady_before] == ["proxies_clean", "ready", "breakers_closed", "write_read"]
    assert e.after_heal.services == ("ap",)
    assert e.to_dict()["workload"]["clients"] == 2


def test_typos_are_named_with_a_suggestion():
    got = problems(with_(hypothesys="x", workload={"duraton_s": 10}))
    assert "hypothesys: unknown field; did you mean 'hypothesis'?" in got
    assert "workload.duraton_s: unknown field; did you mean 'duration_s'?" in got


def test_missing_required_fields():
    got = problems({"services": ["cp"]})
    assert any(p.startswith("name: is missing") for p in got)
    assert any(p.startswith("hypothesis: is missing") for p in got)


@pytest.mark.parametrize("entry, expected", [
    ({"at": 5, "duration": 10, "fault": "cut_nod", "params": {"node": "g2"}},
     "schedule[0].fault: 'cut_nod' is not one of"),
    ({"at": 5, "duration": 10, "fault": "cut_node", "params": {"node": "g3"}},
     "schedule[0].params.node: 'g3' is not one of ['g1', 'g2']"),
    ({"at": 5, "duration": 10, "fault": "cut_node", "params": {"node": "g2", "mode": "drop"}},
     "schedule[0].params.mode: 'drop' is not one of"),
    ({"at": 15, "duration": 10, "fault": "cut_node", "params": {"node": "g2"}},
     "schedule[0].duration: the fault would end at 25 s, after the workload (20 s)"),
    ({"at": 5, "fault": "latency", "params": {"node": "g2"}}, "schedule[0].duration: is missing"),
    ({"at": 5, "duration": 1, "fault": "latency", "params": {"node": "g2"}},
     "schedule[0].params.ms: is missing; add ms: <an integer between 0 and 60000>"),
    ({"at": 5, "duration": 1, "fault": "latency", "params": {"node": "g2", "ms": 100, "jitter": 5}},
     "schedule[0].params.jitter: unknown field; did you mean 'jitter_ms'?"),
    ({"at": 5, "duration": 1, "fault": "kill_node", "params": {"node": ["g1", "g2"]}},
     "schedule[0].params.node: takes exactly one name"),
    ({"at": "soon", "duration": 1, "fault": "none"}, "schedule[0].at: must be a number, got 'soon'"),
])
def test_schedule_problems(entry, expected):
    got = problems(with_(schedule=[entry]))
    assert any(p.startswith(expected) for p in got), got


def test_a_service_not_targeted_cannot_be_cut():
    got = problems(with_(services=["cp"], schedule=[{"at": 1, "duration": 1, "fault": "cut_node",
                                                     "params": {"node": "g2", "services": ["ap"]}}]))
    assert any(p.startswith("schedule[0].params.services: 'ap' is not one of ['cp']") for p in got)


def test_checker_names_and_thresholds_are_checked():
    got = problems(with_(checkers={"linearisable": {}, "breakers": {"close_within": 3, "expect_open": ["cp:g9"]},
                                   "availability": {"min_availability": {"ap": {"falt": 0.9, "fault": 2}}}}))
    assert "checkers.linearisable: unknown field; did you mean 'linearizable'?" in got
    assert "checkers.breakers.close_within: unknown field; did you mean 'close_within_s'?" in got
    assert any(p.startswith("checkers.breakers.expect_open[0]: 'cp:g9' is not service:node") for p in got)
    assert any(p.startswith("checkers.availability.min_availability.ap.falt: is not a window") for p in got)
    assert any(p.startswith("checkers.availability.min_availability.ap.fault: 2 is out of range") for p in got)


def test_yes_no_checker_options_must_be_booleans():
    got = problems(with_(checkers={"linearizable": {"allow_mixed_keys": "yes"},
                                   "staleness": {"require_honest_staleness": 1}}))
    assert any(p.startswith("checkers.linearizable.allow_mixed_keys: must be true or false") for p in got)
    assert any(p.startswith("checkers.staleness.require_honest_staleness: must be true or false") for p in got)
    assert parse_experiment(with_(checkers={"linearizable": {"allow_mixed_keys": True}})).checkers == \
        {"linearizable": {"allow_mixed_keys": True}}


def test_steady_state_metrics_and_after_heal():
    got = problems(with_(steady_state={"before": ["ready", "reddy"], "during": []},
                         expect_metrics=[{"service": "ap", "metric": "data_staleness_ms", "node": "g2"}],
                         after_heal={"within_s": -1}))
    assert any(p.startswith("steady_state.before[1]: 'reddy' is not one of") for p in got)
    assert any(p.startswith("steady_state.during: unknown field") for p in got)
    assert any(p.startswith("expect_metrics[0]: sets no bound") for p in got)
    assert any(p.startswith("after_heal.within_s: -1 is out of range") for p in got)


def test_every_fault_type_builds_from_its_defaults_table():
    for name, ft in FAULTS.items():
        assert ft.doc and callable(ft.build), name


def test_yaml_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nservices: [cp\n")
    with pytest.raises(ExperimentError) as err:
        load_experiment(bad)
    assert "line" in str(err.value) and str(bad) in str(err.value)


def test_the_catalogue_is_valid():
    paths = catalogue()
    assert len(paths) >= 8
    for path in paths:
        e = load_experiment(path)
        assert e.hypothesis and e.schedule and e.checkers, path


def test_unknown_experiment_lists_the_catalogue():
    with pytest.raises(ExperimentError) as err:
        find_experiment("partition-g2-cp-vs-a")
    assert "did you mean 'partition-g2-cp-vs-ap'" in str(err.value)


def test_cli_exits_2_without_traceback_on_a_bad_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: bad
        hypothesis: typos must not pass
        services: [cp]
        workload: {clients: 2, duraton_s: 10}
        """))
    out = subprocess.run([sys.executable, "-m", "chaos", "run", str(bad)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert "workload.duraton_s: unknown field; did you mean 'duration_s'?" in out.stderr
    assert "Traceback" not in out.stderr


ALERTS = {"expect_firing": [{"name": "CaplabBreakerOpen", "labels": {"service": "cp", "node": "g2"}}],
          "expect_quiet": ["CaplabNodeUnreachable", 'CaplabBreakerOpen{service="ap"}']}


def test_alerts_are_parsed_into_selectors():
    e = parse_experiment(with_(profile="test", alerts=ALERTS))
    assert e.alert_profile == "fast" and e.alerts.resolve_within_s == 30
    assert [a.selector for a in e.alerts.expect_firing] == ['CaplabBreakerOpen{node="g2",service="cp"}']
    assert e.alerts.expect_quiet[0].selector == "CaplabNodeUnreachable"
    assert not parse_experiment(GOOD).alerts and parse_experiment(GOOD).alert_profile == ""


def test_alert_names_labels_and_profile_are_checked():
    got = problems(with_(alerts={"expect_firing": ["CaplabBreakerOpn", {"name": "CaplabErrorRateHigh",
                                                                      "labels": {"service": "xp", "nod": "g2"}}]}))
    assert "alerts.expect_firing[0]: 'CaplabBreakerOpn' is not one of" in got[0] and "CaplabBreakerOpen" in got[0]
    assert any(p.startswith("alerts.expect_firing[1].labels.nod: unknown field; did you mean 'node'?") for p in got)
    assert any(p.startswith("alerts.expect_firing[1].labels.service: 'xp' is not one of") for p in got)
    assert any(p.startswith("alert_profile: is 'spec'") and "profile: test" in p for p in got)
    assert parse_experiment(with_(alert_profile="fast", alerts=ALERTS)).alert_profile == "fast"
    assert any("both expected to fire and to stay quiet" in p for p in problems(with_(
        profile="test", alerts={"expect_firing": ["CaplabHintBacklog"], "expect_quiet": ["CaplabHintBacklog"]})))


def test_locust_workload_and_service_settings():
    e = parse_experiment(with_(workload={"engine": "locust", "users": 6, "duration_s": 20},
                               service_settings={"NETWORK_TIMEOUT_SEC": 3}))
    assert e.workload.engine == "locust" and e.workload.users == 6 and e.service_settings == {"NETWORK_TIMEOUT_SEC": 3}
    got = problems(with_(workload={"engine": "locus", "duration_s": 20}, service_settings={"NETWORK_TIMEOUT": 1}))
    assert any(p.startswith("workload.engine: 'locus' is not one of") for p in got)
    assert any(p.startswith("service_settings.NETWORK_TIMEOUT: unknown field; did you mean 'NETWORK_TIMEOUT_SEC'")
               for p in got)
    assert problems(with_(workload={"users": 4, "duration_s": 20})) == [
        "workload.users: only applies to engine: locust; remove it, or add engine: locust"]


def test_ap_read_node_must_be_one_of_the_experiments_nodes():
    assert parse_experiment(with_(service_settings={"AP_READ_NODE": "g2"})).service_settings == {"AP_READ_NODE": "g2"}
    got = problems(with_(service_settings={"AP_READ_NODE": "g3"}))  # a 2-node experiment
    assert any(p.startswith("service_settings.AP_READ_NODE: 'g3' is not one of") for p in got), got


def test_the_alerts_drill_catalogue_covers_every_alert():
    from alerts.rules import ALERTS as RULES
    from chaos.experiment.files import ALERTS_DIR
    drill = [load_experiment(p) for p in catalogue(ALERTS_DIR)]
    assert sorted(e.alerts.expect_firing[0].name for e in drill) == sorted(RULES)
    assert all(e.alert_profile == "fast" and e.profile == "test" for e in drill)
    assert find_experiment("hint-backlog").parent == ALERTS_DIR


@pytest.mark.parametrize("changes,field", [
    ({"workload": {"clients": 2, "duration_s": 20, "key_prefix": "acct\n"}}, "workload.key_prefix"),
    ({"schedule": [{"name": "cut-g2\n", "at": 5, "duration": 10, "fault": "cut_node", "params": {"node": "g2"}}]},
     "schedule[0].name"),
])
def test_a_trailing_newline_is_not_allowed_in_a_name_or_key(changes, field):
    found = problems(with_(**changes))
    assert any(field in p and "is not allowed" in p for p in found), found


def test_native_faults_need_the_native_service_and_checkers_may_be_listed_twice():
    iso = {"at": 5, "duration": 10, "fault": "isolate_primary"}
    assert any("add native to the experiment's services" in p for p in problems(with_(schedule=[iso])))
    cut = {"at": 5, "duration": 10, "fault": "cut_node", "params": {"node": "g2"}}
    found = problems(with_(services=["native", "cp"], schedule=[iso, cut]))
    assert any(p.startswith("schedule[1].params.services") and "services: [cp, ap]" in p for p in found)
    e = parse_experiment(with_(services=["native", "cp"], schedule=[iso, {**cut, "params": {"node": "g2", "services": ["cp"]}}],
                               checkers={"lost_writes/native": {"service": "native", "expect": "invalid",
                                                                "phase": "native-after-heal"},
                                         "lost_writes/cp": {"service": "cp"}}))
    assert e.schedule[0].params == {"mode": "blackhole"}
    assert set(e.checkers) == {"lost_writes/native", "lost_writes/cp"}
    found = problems(with_(checkers={"lost_writes/Bad Label": {}, "linearizable": {"expect": "maybe"}}))
    assert any(p.startswith("checkers.lost_writes/Bad Label") for p in found)
    assert any(p.startswith("checkers.linearizable.expect") for p in found)
