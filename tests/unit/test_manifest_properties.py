"""Property tests of the backup manifest reader: any JSON value, any field of any type, any bytes.

The invariant: read_manifest returns a Manifest whose every field has its documented type, or
raises BackupInvalid naming the manifest; never another exception, and the files are untouched.
Fixed seed (derandomize) and a bounded number of examples.
"""
from __future__ import annotations

import hashlib
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backup.catalog import MANIFEST_FIELDS, Manifest, resolve
from backup.errors import BackupInvalid

SETTINGS = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NAME = "g1-20250112T020000Z"
GOOD = Manifest(node="g1", name=NAME, created_at="2025-01-12T02:00:00Z", size=9,
                sha256=hashlib.sha256(b"REDIS0010").hexdigest(), keys=0, redis_version="7.0.15").to_json()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


@st.composite
def manifests(draw):
    """The good manifest with some fields replaced by any JSON value, or removed."""
    data = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(sorted(MANIFEST_FIELDS)), max_size=4, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            data.pop(name, None)
        else:
            data[name] = draw(json_values | st.sampled_from([GOOD[name], str(GOOD[name]), -1, 1e400]))
    return data


def backup_with(root, text: bytes):
    folder = root / "g1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{NAME}.rdb").write_bytes(b"REDIS0010")
    (folder / f"{NAME}.json").write_bytes(text)
    return resolve(root, "g1", NAME)


def ensure_typed_or_refused(backup) -> None:
    before = backup.manifest_path.read_bytes()
    try:
        m = backup.read_manifest()
    except BackupInvalid as err:
        assert str(backup.manifest_path) in str(err)
    else:
        assert isinstance(m.size, int) and not isinstance(m.size, bool) and m.size >= 0
        assert isinstance(m.keys, int) and not isinstance(m.keys, bool) and m.keys >= 0
        assert isinstance(m.sample, dict) and all(isinstance(v, str) for v in m.sample.values())
        assert isinstance(m.seconds, (int, float)) and math.isfinite(m.seconds)
        assert all(isinstance(getattr(m, f), str) for f in ("node", "name", "created_at", "sha256", "redis_version"))
    assert backup.manifest_path.read_bytes() == before


@SETTINGS
@given(manifests())
def test_a_manifest_with_fields_of_any_type_is_typed_or_refused(tmp_path_factory, data):
    ensure_typed_or_refused(backup_with(tmp_path_factory.mktemp("b"), json.dumps(data).encode()))


@SETTINGS
@given(json_values)
def test_any_json_value_is_typed_or_refused(tmp_path_factory, data):
    ensure_typed_or_refused(backup_with(tmp_path_factory.mktemp("b"), json.dumps(data).encode()))


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_are_refused(tmp_path_factory, raw):
    ensure_typed_or_refused(backup_with(tmp_path_factory.mktemp("b"), raw))
