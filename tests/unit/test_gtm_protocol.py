"""Unit tests of the GTM's pure parts: framing, the fence grant logic, sequence arithmetic."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridpg.gtm.protocol import (
    MAX_FRAME,
    FrameDecoder,
    GtmError,
    ProtocolError,
    build_error,
    build_request,
    build_response,
    decode_length,
    decode_payload,
    encode_frame,
    parse_request,
    response_result,
)
from gridpg.gtm.server import FenceMode, FenceState
from gridpg.gtm.storage import SequenceDef, build_sequence, next_range, set_value

COMMIT, SNAPSHOT = FenceMode.COMMIT, FenceMode.SNAPSHOT

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


# -- framing --------------------------------------------------------------------------------


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_frame_round_trip(message: dict[str, object]) -> None:
    frame = encode_frame(message)
    assert decode_length(frame[:4]) == len(frame) - 4
    assert decode_payload(frame[4:]) == message


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5), st.data())
def test_decoder_reassembles_split_frames(ids: list[int], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(build_request(i, "ping", {"x": "é" * i})) for i in ids)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    received: list[dict[str, object]] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        received.extend(decoder.feed(stream[start:end]))
    assert [m["id"] for m in received] == ids
    assert decoder.pending == 0


def test_request_and_response_shapes() -> None:
    request = parse_request(
        decode_payload(encode_frame(build_request(7, "seq_next", {"n": 1}))[4:])
    )
    assert (request.id, request.op, request.fields) == (7, "seq_next", {"n": 1})
    assert response_result(build_response(7, {"gxid": 1000})) == {"gxid": 1000}
    with pytest.raises(GtmError) as info:
        response_result(build_error(7, GtmError("42P01", "no such sequence")))
    assert (info.value.code, info.value.message) == ("42P01", "no such sequence")


def test_oversized_frames_are_rejected() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_length(struct.pack(">I", MAX_FRAME + 1))
    assert info.value.code == "54000"
    assert decode_length(struct.pack(">I", MAX_FRAME)) == MAX_FRAME
    with pytest.raises(ProtocolError):
        encode_frame({"blob": "x" * MAX_FRAME})
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(struct.pack(">I", MAX_FRAME + 1))


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe", b"not json", b"[1, 2]", b"42", b'"text"', b'{"id": 1'],
)
def test_garbage_payloads_are_rejected(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        FrameDecoder().feed(_frame(payload))
    assert info.value.code == "08P01"


@pytest.mark.parametrize("message", [{"op": "ping"}, {"id": "1", "op": "ping"}, {"id": True}])
def test_request_without_integer_id_is_fatal(message: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        parse_request(message)


def test_request_without_op_is_an_ordinary_error() -> None:
    with pytest.raises(GtmError) as info:
        parse_request({"id": 3})
    assert not isinstance(info.value, ProtocolError)


def test_frames_are_compact_utf8_json() -> None:
    frame = encode_frame({"id": 1, "op": "seq_next", "name": "séq"})
    assert json.loads(frame[4:].decode("utf-8"))["name"] == "séq"
    assert b" " not in frame[4:]


# -- the fence ------------------------------------------------------------------------------


def test_fence_is_shared_within_a_mode() -> None:
    fence = FenceState()
    grants = [fence.acquire(COMMIT, owner)[1] for owner in range(5)]
    assert all(grants)
    assert fence.holders(COMMIT) == 5 and fence.mode is COMMIT


def test_fence_modes_exclude_each_other() -> None:
    fence = FenceState()
    c1, _ = fence.acquire(COMMIT, "a")
    c2, _ = fence.acquire(COMMIT, "b")
    s1, granted = fence.acquire(SNAPSHOT, "c")
    assert not granted
    assert fence.release(c1) == []
    assert fence.release(c2) == [s1]
    assert fence.mode is SNAPSHOT and fence.is_granted(s1)
    c3, granted = fence.acquire(COMMIT, "a")
    assert not granted
    assert fence.release(s1) == [c3]


def test_fence_is_phase_fair() -> None:
    fence = FenceState()
    c1, _ = fence.acquire(COMMIT, "a")
    s1, _ = fence.acquire(SNAPSHOT, "b")
    c2, c2_granted = fence.acquire(COMMIT, "c")  # would starve s1 if admitted
    s2, _ = fence.acquire(SNAPSHOT, "d")
    assert not c2_granted
    assert fence.release(c1) == [s1, s2]  # the whole waiting phase at once
    s3, s3_granted = fence.acquire(SNAPSHOT, "e")  # commit waits: no new snapshot holders
    assert not s3_granted
    assert fence.release(s1) == []
    assert fence.release(s2) == [c2]
    assert fence.release(c2) == [s3]


def test_withdrawn_waiter_unblocks_its_queue() -> None:
    fence = FenceState()
    c1, _ = fence.acquire(COMMIT, "a")
    s1, _ = fence.acquire(SNAPSHOT, "b")
    c2, _ = fence.acquire(COMMIT, "c")
    assert fence.release(s1) == [c2]  # nobody else waits for snapshot any more
    assert fence.holders(COMMIT) == 2 and fence.is_granted(c1)


def test_fence_release_on_disconnect() -> None:
    fence = FenceState()
    held = [fence.acquire(COMMIT, "conn1")[0] for _ in range(3)]
    waiting, _ = fence.acquire(SNAPSHOT, "conn1")
    other, granted = fence.acquire(SNAPSHOT, "conn2")
    assert not granted
    assert fence.release_owner("conn1") == [other]
    assert all(fence.owner_of(t) is None for t in [*held, waiting])
    assert fence.mode is SNAPSHOT and fence.holders(SNAPSHOT) == 1
    assert fence.release_owner("conn2") == []
    assert fence.mode is None


def test_fence_release_unknown_token() -> None:
    with pytest.raises(KeyError):
        FenceState().release(99)


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(list(FenceMode)), st.integers(0, 3))))
def test_fence_never_mixes_modes(steps: list[tuple[bool, FenceMode, int]]) -> None:
    fence = FenceState()
    tokens: list[int] = []
    for is_acquire, mode, pick in steps:
        if is_acquire or not tokens:
            tokens.append(fence.acquire(mode, pick)[0])
        else:
            fence.release(tokens.pop(pick % len(tokens)))
        assert not (fence.holders(COMMIT) and fence.holders(SNAPSHOT))
        if fence.mode is None:  # a free fence has nobody waiting
            assert fence.waiting(COMMIT) == fence.waiting(SNAPSHOT) == 0


# -- sequence arithmetic ----------------------------------------------------------------------


def _take(seq: SequenceDef, count: int) -> list[int]:
    first, last = next_range(seq, count)
    return list(range(first, last + (1 if seq.increment > 0 else -1), seq.increment))


def test_sequence_defaults_follow_postgresql() -> None:
    up = build_sequence("up", None, 1, None, None, False)
    down = build_sequence("down", None, -2, None, None, False)
    assert (up.start, up.minvalue, up.maxvalue) == (1, 1, 2**63 - 1)
    assert (down.start, down.minvalue, down.maxvalue) == (-1, -(2**63), -1)
    assert _take(up, 3) == [1, 2, 3]
    assert _take(down, 3) == [-1, -3, -5]


def test_sequence_range_stops_at_bound_then_errors() -> None:
    seq = build_sequence("s", 1, 1, None, 5, False)
    assert _take(seq, 4) == [1, 2, 3, 4]
    assert _take(seq, 4) == [5]
    with pytest.raises(GtmError) as info:
        next_range(seq, 1)
    assert info.value.code == "2200H"


def test_sequence_cycles_and_setval() -> None:
    seq = build_sequence("s", 9, -3, 1, 10, True)
    assert _take(seq, 10) == [9, 6, 3]
    assert _take(seq, 2) == [10, 7]
    set_value(seq, 4, False)
    assert _take(seq, 1) == [4]
    with pytest.raises(GtmError) as info:
        set_value(seq, 11, True)
    assert info.value.code == "22003"


@pytest.mark.parametrize(
    ("start", "increment", "minvalue", "maxvalue"),
    [(1, 0, None, None), (0, 1, None, None), (1, 1, 5, 5), (1, 1, None, 2**63)],
)
def test_bad_sequence_definitions(
    start: int, increment: int, minvalue: int | None, maxvalue: int | None
) -> None:
    with pytest.raises(GtmError):
        build_sequence("s", start, increment, minvalue, maxvalue, False)
