"""ssekit.parse() and ssekit.Event: the C++ parser seen from Python."""

from __future__ import annotations

import json
import random
from typing import Any, Dict, List

import pytest

import ssekit
from conftest import DATA

VECTORS: List[Dict[str, Any]] = json.loads((DATA / "parser_vectors.json").read_text())["vectors"]


def vector_bytes(vector: Dict[str, Any]) -> bytes:
    if "input_hex" in vector:
        return bytes.fromhex(vector["input_hex"])
    return vector["input"].encode("utf-8")


def expected_events(vector: Dict[str, Any]) -> List[ssekit.Event]:
    return [ssekit.Event(**fields) for fields in vector["events"]]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_parse_agrees_with_the_vector_fed_whole(vector: Dict[str, Any]) -> None:
    assert ssekit.parse(vector_bytes(vector)) == expected_events(vector)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_parse_agrees_with_the_vector_fed_one_byte_at_a_time(vector: Dict[str, Any]) -> None:
    data = vector_bytes(vector)
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert ssekit.parse(chunks) == expected_events(vector)


def test_any_split_of_a_long_stream_gives_the_same_events() -> None:
    data = b"".join(vector_bytes(v) + b"\n\n" for v in VECTORS)
    whole = ssekit.parse(data)
    assert len(whole) > len(VECTORS)  # every vector's events, plus those the blank lines end
    splits = random.Random(2026)  # fixed seed: a failure replays exactly
    for _ in range(50):
        cuts = sorted(splits.sample(range(1, len(data)), 40))
        chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        assert ssekit.parse(iter(chunks)) == whole


def test_parse_takes_bytearray_memoryview_and_a_generator() -> None:
    data = b"id: 9\nevent: tick\ndata: {\"n\": 1}\n\n"
    expected = [ssekit.Event(type="tick", data='{"n": 1}', id="9")]
    assert ssekit.parse(bytearray(data)) == expected
    assert ssekit.parse(memoryview(data)) == expected
    assert ssekit.parse(data[i : i + 3] for i in range(0, len(data), 3)) == expected
    assert ssekit.parse(b"") == []
    assert ssekit.parse([]) == []


@pytest.mark.parametrize("bad", ["data: x\n\n", 42, None, [b"data: x\n", "\n"], [1, 2]])
def test_parse_rejects_what_is_not_bytes_with_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="bytes"):
        ssekit.parse(bad)


def test_event_defaults_fields_and_keyword_only_construction() -> None:
    event = ssekit.Event(data="x")
    assert (event.type, event.data, event.id) == ("message", "x", "")
    with pytest.raises(TypeError):
        ssekit.Event("message", "x")  # type: ignore[misc]
    with pytest.raises(TypeError):
        ssekit.Event(data=b"x")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


def test_events_compare_and_hash_by_type_data_and_id() -> None:
    a = ssekit.Event(type="t", data="d", id="1")
    assert a == ssekit.Event(type="t", data="d", id="1")
    assert hash(a) == hash(ssekit.Event(type="t", data="d", id="1"))
    assert a != ssekit.Event(type="t", data="d", id="2")
    assert a != ssekit.Event(type="u", data="d", id="1")
    assert a != ssekit.Event(type="t", data="e", id="1")
    assert a != ("t", "d", "1")
    assert len({a, ssekit.Event(type="t", data="d", id="1")}) == 1


def test_event_repr_is_readable_and_round_trips() -> None:
    event = ssekit.Event(type="tick", data='{"n": 1}\nsecond', id="42")
    assert repr(event) == "Event(type='tick', data='{\"n\": 1}\\nsecond', id='42')"
    assert eval(repr(event), {"Event": ssekit.Event}) == event


def test_event_json_decodes_the_data() -> None:
    assert ssekit.parse(b'data: {"counter": 3,\ndata: "value": [1.5]}\n\n')[0].json() == {
        "counter": 3,
        "value": [1.5],
    }
    with pytest.raises(json.JSONDecodeError):
        ssekit.Event(data="not json").json()
