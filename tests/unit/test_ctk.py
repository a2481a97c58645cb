"""The Chaos Toolkit extension's pure parts: its activities mirror the fault table, bad arguments
fail with ActivityFailed before anything is touched, the reference in docs/ctk.md is the one
discover() generates, and the pinned Chaos Toolkit versions agree everywhere."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed
from chaoslib.provider.python import run_python_activity, validate_python_activity

import chaostoolkit_caplab
from chaos.nemesis.fault_types import FAULTS, REQUIRED
from chaostoolkit_caplab import actions, control, probes, recording, reference
from harness.history import BreakerSample, FaultEvent, Op

ROOT = Path(__file__).resolve().parents[2]


def test_one_action_per_fault_with_the_schedules_parameters():
    for name, spec in FAULTS.items():
        if name == "none":
            continue
        sig = inspect.signature(getattr(actions, name))
        params = {k: p for k, p in sig.parameters.items() if k not in ("duration_s", "configuration")}
        assert set(params) == set(spec.params), name
        for key, p in spec.params.items():
            want = inspect.Parameter.empty if p.default is REQUIRED else p.default
            assert params[key].default == want, (name, key)
        assert sig.parameters["configuration"].kind is inspect.Parameter.KEYWORD_ONLY


def test_discover_lists_actions_and_probes_with_docs():
    found = {(a["type"], a["name"]): a for a in chaostoolkit_caplab.discover()["activities"]}
    assert {n for t, n in found if t == "action"} == set(actions.__all__)
    assert {n for t, n in found if t == "probe"} == set(probes.__all__)
    assert all(a["doc"] for a in found.values())
    assert "blackhole" in found[("action", "cut_node")]["doc"]  # the modes come from the fault table


def _activity(func: str, module="actions", **arguments) -> dict:
    return {"type": "action", "name": func, "provider": {
        "type": "python", "module": f"chaostoolkit_caplab.{module}", "func": func, "arguments": arguments}}


@pytest.mark.parametrize("arguments, words", [
    ({"node": "g9"}, "arguments.node: 'g9' is not one of ['g1', 'g2']"),
    ({"node": "g2", "mode": "blakhole"}, "did you mean 'blackhole'"),
    ({"node": "g2", "duration_s": -1}, "arguments.duration_s: -1 is not a number of seconds"),
    ({"fault": "kill_primary"}, "set the configuration key caplab_native to true"),
    ({"fault": "kill_instance", "service": "ap", "instance": 2}, "set the configuration key caplab_instances"),
])
def test_bad_fault_arguments_raise_activity_failed_before_touching_a_stack(tmp_path, arguments, words):
    config = {"caplab_stack_dir": str(tmp_path / "nowhere")}
    fault = arguments.pop("fault", "cut_node")
    with pytest.raises(ActivityFailed, match=re.escape(words)):
        run_python_activity(_activity(fault, **arguments), config, {})
    assert not (tmp_path / "nowhere").exists()


def test_no_stack_there_is_activity_failed_saying_how_to_fix_it(tmp_path):
    config = {"caplab_stack_dir": str(tmp_path / "nowhere")}
    with pytest.raises(ActivityFailed, match="no caplab stack in .*make up"):
        run_python_activity(_activity("heal"), config, {})
    with pytest.raises(ActivityFailed, match="caplab_port_offset, caplab_nodes and caplab_instances must be integers"):
        run_python_activity(_activity("breaker_states", "probes"), {"caplab_port_offset": "x"}, {})
    assert not (tmp_path / "nowhere").exists()


def test_probes_that_need_a_recording_say_so():
    with pytest.raises(ActivityFailed, match="add the caplab control"):
        run_python_activity(_activity("mark", name="x"), {}, {})
    with pytest.raises(ActivityFailed, match="unknown checker 'linearisable'"):
        run_python_activity(_activity("check", "probes", checker="linearisable"), {}, {})


def test_chaos_toolkit_validates_the_generated_signatures():
    validate_python_activity(_activity("latency", node="g1", ms=100))
    with pytest.raises(Exception, match="ms"):
        validate_python_activity(_activity("latency", node="g1"))  # ms is required


def test_plain_data_has_no_infinity():
    assert probes.plain({"a": float("inf"), "b": (1, float("nan")), 3: {"c": 1.5}}) == \
        {"a": None, "b": [1, None], "3": {"c": 1.5}}


def test_run_folder_name_from_the_title():
    assert control.slug("g2 cut off, CP & AP") == "ctk-g2-cut-off-cp-ap"
    assert control.slug("!!!") == "ctk-experiment"


def test_the_committed_reference_is_what_discover_generates():
    page = reference.PAGE.read_text(encoding="utf-8")
    assert reference.generated_section(page) == reference.render(chaostoolkit_caplab.discover()), \
        "docs/ctk.md is out of date: run `.venv/bin/python -m chaostoolkit_caplab.reference`"


def test_the_chaos_toolkit_pins_agree_and_are_locked():
    lock = dict(line.split("==") for line in (ROOT / "requirements.lock").read_text().split())
    extra = re.search(r'^ctk = \[(.*)\]$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    pins = dict(p.strip().strip('"').split("==") for p in extra.split(","))
    assert pins == {"chaostoolkit": lock["chaostoolkit"], "chaostoolkit-lib": lock["chaostoolkit-lib"]}
    assert f'"chaostoolkit-lib=={lock["chaostoolkit-lib"]}"' in (ROOT / "ctk" / "pyproject.toml").read_text()


def _op(key, t, kind="invoke"):
    return Op(kind, 1, "read", key, None, "cp", t, 0)


def test_the_history_since_a_mark_holds_its_keys_later_samples_and_every_fault():
    marks = [recording.Mark("start", 0.0, "run.m0"), recording.Mark("cut", 5.0, "run.m1"),
             recording.Mark("after", 9.0, "run.m2")]
    fault = FaultEvent("start", "cut", "cp->g2", 4.0, 0, stage="complete")
    events = [_op("run.m0:cp:k1", 4.5), fault, BreakerSample("cp", "g2", "open", 4.8, 0),
              _op("run.m0:cp:k1", 5.2, "ok"),  # an old key completing after the mark: not in the stretch
              _op("run.m1:cp:k1", 6.0), BreakerSample("cp", "g2", "open", 6.1, 0), _op("run.m2:cp:k1", 9.5),
              _op("run.m10:cp:k1", 9.6)]  # m1 must not match m10's keys
    got = recording.since(events, marks, marks[1])
    assert got == [fault, events[4], events[5], events[6]]
    assert recording.since(events, marks, marks[0])[:3] == events[:3]


def test_check_thresholds_must_fit_the_checker(monkeypatch):
    class Rec:
        def history_since(self, name):
            return []

    monkeypatch.setattr(recording, "_current", Rec())
    monkeypatch.setattr(probes, "target", lambda configuration: None)
    with pytest.raises(ActivityFailed, match=r"do not fit linearizable .*it takes \['service', 'max_steps'"):
        run_python_activity(_activity("check", "probes", checker="linearizable",
                                      thresholds={"max_stalenes_ms": 5}), {}, {})


@pytest.mark.parametrize("arguments, words", [
    ({"client": 2}, "unknown control arguments 'client' (did you mean 'clients'?)"),
    ({"read_ratio": 1.5}, "read_ratio must be a number between 0 and 1, got 1.5"),
    ({}, "no caplab stack in"),
])
def test_the_control_interrupts_a_run_it_cannot_record(tmp_path, arguments, words):
    from chaoslib.exceptions import InterruptExecution
    config = {"caplab_stack_dir": str(tmp_path / "nowhere"), "caplab_runs_dir": str(tmp_path / "runs")}
    with pytest.raises(InterruptExecution, match=re.escape(words)):
        control.before_experiment_control({"title": "t"}, configuration=config, **arguments)
    assert recording.current(required=False) is None and not (tmp_path / "runs").exists()


def test_every_instance_fault_is_known_to_need_instances():
    assert {n for n in FAULTS if "instance" in n or n == "rolling_restart"} == set(actions.INSTANCE_FAULTS)
