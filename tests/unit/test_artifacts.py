"""g2p.artifacts: one way to key an artifact and one way to check that it is still current."""

from __future__ import annotations

import hashlib
import json

from g2p import artifacts


def test_key_of_is_the_sha256_of_sorted_json() -> None:
    payload = {"b": [1, 2], "a": "x"}
    expected = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    assert artifacts.key_of(payload) == expected[:16]  # the value existing caches were keyed with
    assert artifacts.key_of({"a": "x", "b": [1, 2]}) == artifacts.key_of(payload)  # key order does not matter
    assert artifacts.key_of(payload, length=None) == expected
    assert artifacts.key_of("ACGT", length=None) == hashlib.sha256(b"ACGT").hexdigest()  # a string as is
    assert artifacts.key_of({"a": "y", "b": [1, 2]}) != artifacts.key_of(payload)


def test_keyed_file_names_the_artifact_by_its_key(tmp_path) -> None:
    assert artifacts.keyed_file(tmp_path, "latents", "abc123", ".pt") == tmp_path / "latents_abc123.pt"


def test_current_record_only_for_the_same_key(tmp_path) -> None:
    record = tmp_path / "result.json"
    assert artifacts.current_record(record, "k1") is None  # missing
    record.write_text("{not json")
    assert artifacts.current_record(record, "k1") is None  # unreadable
    record.write_text(json.dumps([1, 2]))
    assert artifacts.current_record(record, "k1") is None  # not an object
    record.write_text(json.dumps({"run_key": "k1", "best": 0.3}))
    assert artifacts.current_record(record, "k1", field="run_key") == {"run_key": "k1", "best": 0.3}
    assert artifacts.current_record(record, "k2", field="run_key") is None  # built for other inputs
    assert artifacts.current_record(record, "k1") is None  # the key is in another field


def test_load_or_build_rebuilds_missing_corrupt_or_wrong_type(tmp_path) -> None:
    cache = tmp_path / "cache" / "table_k1.pickle"
    calls = []

    def build() -> dict:
        calls.append(1)
        return {"n": len(calls)}

    assert artifacts.load_or_build(cache, dict, build) == {"n": 1}
    assert artifacts.load_or_build(cache, dict, build) == {"n": 1} and len(calls) == 1  # reused
    cache.write_bytes(b"\x80\x04 truncated")
    assert artifacts.load_or_build(cache, dict, build) == {"n": 2}  # corrupt → rebuilt
    assert artifacts.load_or_build(cache, list, lambda: [3]) == [3]  # a dict where a list is expected → rebuilt
    assert artifacts.load_or_build(cache, list, build, use_cache=False) == {"n": 3}
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # written atomically, no temporaries left
