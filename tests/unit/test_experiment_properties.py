"""Property tests of experiment-file validation: any YAML-ish document, any bytes.

The invariant: the loader returns a valid Experiment or raises ExperimentError naming the file;
never another exception. A valid experiment's checker thresholds are accepted by the checkers'
signatures, so a run can never crash at the end on a bound the validator let through.
Fixed seed (derandomize) and a bounded number of examples: the same inputs on every run.
"""
from __future__ import annotations

import copy
import inspect

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.checkers import CHECKERS, base_name
from chaos.experiment.files import Experiment, ExperimentError, load_experiment, parse_experiment
from chaos.experiment.thresholds import CHECKER_PARAMS

SETTINGS = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

GOOD = {
    "name": "prop", "hypothesis": "CP refuses while g2 is cut off", "services": ["cp", "ap"],
    "workload": {"clients": 2, "duration_s": 20},
    "schedule": [{"name": "cut", "at": 5, "duration": 10, "fault": "flapping",
                  "params": {"node": "g2", "period_sec": 2, "down_sec": 1}}],
    "checkers": {"linearizable": {"service": "cp"}, "breakers": {"expect_open": ["cp:g2"], "fault": "cut"},
                 "availability": {"min_availability": {"cp": {"steady": 0.9}}}},
}
# Words the schema knows, so mutations land on real fields as often as on nonsense.
WORDS = ["cp", "ap", "g1", "g2", "g9", "steady", "fault", "after-heal", "fault:cut", "cut", "any", "all",
         "ready", "refuse", "blackhole", "flapping", "cut_node", "min_availability", "expect_open",
         "period_sec", "down_sec", "service", "nodes", "within_s", "after-recovery"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.sampled_from(WORDS), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=8), st.integers(-3, 3)), inner, max_size=4)),
    max_leaves=12)


def paths(doc, prefix=()):
    """Every path to a value inside a document: dict keys and list indexes."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, prefix + (i,))


@st.composite
def mutated(draw):
    """GOOD with one to three values replaced by arbitrary ones (or extra keys added)."""
    doc = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(doc))[1:]))
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS))] = draw(values)
        else:
            parent[where[-1]] = draw(values)
    return doc


def ensure_loads_or_refuses(data) -> Experiment | None:
    try:
        exp = parse_experiment(data, "prop.yaml")
    except ExperimentError as err:
        assert str(err).startswith("prop.yaml: ") and err.problems
        assert all("; " in p for p in err.problems), err.problems  # every problem says what to fix
        return None
    for name, thresholds in exp.checkers.items():
        given = {k: v for k, v in thresholds.items() if k != "expect"}  # expect is run_all's
        inspect.signature(CHECKERS[base_name(name)]).bind([], **given)  # the checker takes every threshold
    return exp


@SETTINGS
@given(mutated())
def test_a_mutated_experiment_is_valid_or_refused_with_its_path(doc):
    ensure_loads_or_refuses(doc)


@SETTINGS
@given(values)
def test_any_document_is_valid_or_refused(doc):
    ensure_loads_or_refuses(doc)


@SETTINGS
@given(mutated())
def test_the_yaml_file_of_a_mutated_experiment_is_valid_or_refused(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("exp") / "prop.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        load_experiment(path)
    except ExperimentError as err:
        assert err.source == str(path)


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_valid_or_refused(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("exp") / "prop.yaml"
    path.write_bytes(raw)
    try:
        load_experiment(path)
    except ExperimentError as err:
        assert err.source == str(path)


def test_every_checker_parameter_has_a_type():
    """A checker parameter added without a kind in CHECKER_PARAMS would go unchecked."""
    for name, check in CHECKERS.items():
        params = [p for p in inspect.signature(check).parameters if p != "history"]
        assert sorted(params) == sorted(CHECKER_PARAMS.get(name, {})), name
