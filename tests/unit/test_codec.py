"""pgwire codec: every build_/parse_ pair round trips; FrameReader frames any split stream."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpg.pgwire import codec
from gridpg.pgwire.codec import Column, FrameReader, PayloadReader, ProtocolViolation

# Text fields are C strings: no NUL inside.
text = st.text(st.characters(exclude_characters="\0", exclude_categories=("Cs",)), max_size=40)
int16 = st.integers(-(2**15), 2**15 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)
oid = st.integers(0, 2**32 - 1)
value = st.one_of(st.none(), st.binary(max_size=64))


def split(raw: bytes) -> tuple[int, bytes]:
    """(type byte, payload) of one whole message, checking its length word."""
    (length,) = struct.unpack("!i", raw[1:5])
    assert length == len(raw) - 1
    return raw[0], raw[5:]


# -- startup phase ------------------------------------------------------------------------


@given(st.dictionaries(text.filter(bool), text, max_size=6))
def test_startup_round_trip(params: dict[str, str]) -> None:
    raw = codec.build_startup(params)
    reader = FrameReader(expect_startup=True)
    reader.feed(raw)
    packet = reader.next_startup()
    assert packet is not None and reader.buffered() == 0
    startup = codec.parse_startup(packet)
    assert startup.code == codec.PROTOCOL_V3
    assert startup.params == params


def test_startup_protocol_3_2() -> None:
    raw = codec.build_startup({"user": "u"}, code=codec.PROTOCOL_V3_2)
    assert codec.parse_startup(raw[4:]).code == codec.PROTOCOL_V3_2


@given(int32, st.binary(min_size=4, max_size=32))
def test_cancel_request_round_trip(pid: int, key: bytes) -> None:
    startup = codec.parse_startup(codec.build_cancel_request(pid, key)[4:])
    assert startup.code == codec.CANCEL_REQUEST
    assert (startup.cancel_pid, startup.cancel_key) == (pid, key)


@pytest.mark.parametrize("code", [codec.SSL_REQUEST, codec.GSSENC_REQUEST])
def test_ssl_and_gss_requests(code: int) -> None:
    assert codec.parse_startup(struct.pack("!i", code)).code == code


def test_unsupported_protocol_version() -> None:
    with pytest.raises(ProtocolViolation) as info:
        codec.parse_startup(struct.pack("!i", 2 << 16) + b"\0")
    assert info.value.sqlstate == "0A000"


@pytest.mark.parametrize("length", [0, 4, 7, codec.MAX_STARTUP_PACKET + 1, -1])
def test_bad_startup_length(length: int) -> None:
    reader = FrameReader(expect_startup=True)
    reader.feed(struct.pack("!i", length) + b"\0" * 8)
    with pytest.raises(ProtocolViolation) as info:
        reader.next_startup()
    assert info.value.sqlstate == "08P01"
    assert info.value.unanswered  # PostgreSQL's COMMERROR: logged, the connection closed, nothing sent


def test_incomplete_startup_waits() -> None:
    raw = codec.build_startup({"user": "alice", "database": "db"})
    reader = FrameReader(expect_startup=True)
    for i, byte in enumerate(raw):
        assert reader.next_startup() is None, i
        reader.feed(bytes([byte]))
    assert codec.parse_startup(reader.next_startup() or b"").params["user"] == "alice"


# -- messages -------------------------------------------------------------------------------


columns = st.builds(Column, text, oid.map(lambda o: o - 2**32 if o >= 2**31 else o), int16,
                    oid.map(lambda o: o - 2**32 if o >= 2**31 else o), int16, int32,
                    st.sampled_from([0, 1]))


@given(st.lists(columns, max_size=8))
def test_row_description_round_trip(cols: list[Column]) -> None:
    kind, payload = split(codec.build_row_description(cols))
    assert kind == ord("T")
    assert codec.parse_row_description(payload) == cols


@given(st.lists(value, max_size=10))
def test_data_row_round_trip(values: list[bytes | None]) -> None:
    kind, payload = split(codec.build_data_row(values))
    assert kind == ord("D")
    assert codec.parse_data_row(payload) == values


@given(st.lists(oid, max_size=10))
def test_parameter_description_round_trip(oids: list[int]) -> None:
    kind, payload = split(codec.build_parameter_description(oids))
    assert kind == ord("t")
    assert codec.parse_parameter_description(payload) == oids


@given(st.dictionaries(st.sampled_from(sorted(codec.ERROR_FIELDS)), text, min_size=1))
def test_error_fields_round_trip(fields: dict[str, str]) -> None:
    for kind in (b"E", b"N"):
        got_kind, payload = split(codec.build_error_fields(kind, fields))
        assert got_kind == kind[0]
        assert codec.parse_error_fields(payload) == fields


def test_error_fields_without_terminator_is_a_protocol_violation() -> None:
    with pytest.raises(ProtocolViolation):
        codec.parse_error_fields(b"Mno terminator")


@given(text, text, st.lists(oid, max_size=8))
def test_parse_round_trip(name: str, sql: str, oids: list[int]) -> None:
    kind, payload = split(codec.build_parse(name, sql, oids))
    assert kind == ord("P")
    assert codec.parse_parse(payload) == codec.Parse(name, sql, oids)


formats = st.sampled_from([0, 1])


@given(text, text, st.lists(value, max_size=8), st.data())
def test_bind_round_trip(portal: str, statement: str, params: list[bytes | None],
                         data: st.DataObject) -> None:
    nformats = data.draw(st.sampled_from(sorted({0, 1, len(params)})))
    param_formats = data.draw(st.lists(formats, min_size=nformats, max_size=nformats))
    result_formats = data.draw(st.lists(formats, max_size=5))
    kind, payload = split(codec.build_bind(portal, statement, param_formats, params, result_formats))
    assert kind == ord("B")
    assert codec.parse_bind(payload) == codec.Bind(portal, statement, param_formats, params,
                                                   result_formats)


def test_bind_rejects_bad_format_code_and_count() -> None:
    with pytest.raises(ProtocolViolation, match="format code"):
        codec.parse_bind(split(codec.build_bind("", "", [2], [b"x"], []))[1])
    with pytest.raises(ProtocolViolation, match="parameter formats"):
        codec.parse_bind(split(codec.build_bind("", "", [0, 1], [b"x"], []))[1])
    with pytest.raises(ProtocolViolation):
        codec.parse_bind(split(codec.build_bind("", "", [], [b"abc"], []))[1][:-4])


@given(st.sampled_from(["S", "P"]), text)
def test_describe_and_close_round_trip(which: str, name: str) -> None:
    for build, letter in ((codec.build_describe, "D"), (codec.build_close, "C")):
        kind, payload = split(build(which, name))
        assert kind == ord(letter)
        assert codec.parse_describe_or_close(payload) == (which, name)


def test_describe_bad_subtype() -> None:
    with pytest.raises(ProtocolViolation):
        codec.parse_describe_or_close(b"X\0")


@given(text, int32)
def test_execute_round_trip(portal: str, max_rows: int) -> None:
    kind, payload = split(codec.build_execute(portal, max_rows))
    assert kind == ord("E")
    assert codec.parse_execute(payload) == (portal, max_rows)


@given(text)
def test_query_and_command_complete_round_trip(sql: str) -> None:
    for build, letter in ((codec.build_query, "Q"), (codec.build_command_complete, "C")):
        kind, payload = split(build(sql))
        assert kind == ord(letter)
        reader = PayloadReader(payload)
        assert reader.cstring() == sql
        reader.ensure_end()


@given(text, text)
def test_parameter_status_round_trip(name: str, val: str) -> None:
    kind, payload = split(codec.build_parameter_status(name, val))
    reader = PayloadReader(payload)
    assert kind == ord("S") and (reader.cstring(), reader.cstring()) == (name, val)


@given(int32, st.binary(min_size=4, max_size=32))
def test_backend_key_round_trip(pid: int, key: bytes) -> None:
    kind, payload = split(codec.build_backend_key(pid, key))
    reader = PayloadReader(payload)
    assert kind == ord("K") and reader.int32() == pid and reader.rest() == key


def test_payload_reader_overruns_are_protocol_violations() -> None:
    for read in (lambda r: r.int32(), lambda r: r.int16(), lambda r: r.byte(),
                 lambda r: r.cstring(), lambda r: r.bytes_n(2), lambda r: r.bytes_n(-1)):
        with pytest.raises(ProtocolViolation) as info:
            read(PayloadReader(b""))
        assert info.value.sqlstate == "08P01"
    with pytest.raises(ProtocolViolation) as info:
        PayloadReader(b"\xff\xfe\0").cstring()
    assert info.value.sqlstate == "22021"
    with pytest.raises(ProtocolViolation):
        PayloadReader(b"ab").ensure_end()


def test_negative_counts_are_protocol_violations() -> None:
    with pytest.raises(ProtocolViolation):
        codec.parse_parse(b"\0select 1\0" + struct.pack("!h", -1))


# -- framing ----------------------------------------------------------------------------------


messages = st.lists(
    st.tuples(st.sampled_from(b"QPBEDSCdXH"), st.binary(max_size=300)).map(
        lambda kp: codec.message(bytes([kp[0]]), kp[1])
    ),
    max_size=12,
)


@settings(max_examples=200)
@given(messages, st.data())
def test_frames_survive_any_split(msgs: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    raw = data.draw(st.booleans())
    reader = FrameReader()
    got: list[tuple[int, bytes]] = []
    for piece in pieces:
        reader.feed(piece)
        while (frame := (reader.next_raw_frame() if raw else reader.next_frame())) is not None:
            got.append(frame)
    assert reader.buffered() == 0
    if raw:
        assert got == [(m[0], m) for m in msgs]
    else:
        assert got == [split(m) for m in msgs]


def test_frames_across_buffer_compaction() -> None:
    msgs = [codec.message(b"d", bytes([i % 256]) * 1000) for i in range(300)]
    stream = b"".join(msgs)
    reader = FrameReader()
    got = []
    for i in range(0, len(stream), 777):
        reader.feed(stream[i : i + 777])
        while (frame := reader.next_frame()) is not None:
            got.append(frame)
    assert got == [split(m) for m in msgs]


@pytest.mark.parametrize("raw", [False, True])
def test_oversize_message_is_54000(raw: bool) -> None:
    reader = FrameReader(max_message=1024)
    reader.feed(b"Q" + struct.pack("!i", 1025 + 4))
    with pytest.raises(ProtocolViolation) as info:
        reader.next_raw_frame() if raw else reader.next_frame()
    assert info.value.sqlstate == "54000"


def test_message_at_the_maximum_is_accepted() -> None:
    reader = FrameReader(max_message=1024)
    reader.feed(codec.message(b"d", b"x" * 1020))
    assert reader.next_frame() == (ord("d"), b"x" * 1020)


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("length", [0, 3, -1, -(2**31)])
def test_bad_length_is_08P01(raw: bool, length: int) -> None:
    reader = FrameReader()
    reader.feed(b"Q" + struct.pack("!i", length))
    with pytest.raises(ProtocolViolation) as info:
        reader.next_raw_frame() if raw else reader.next_frame()
    assert info.value.sqlstate == "08P01"


def test_constant_messages() -> None:
    assert codec.SYNC == b"S\0\0\0\x04"
    assert codec.TERMINATE == b"X\0\0\0\x04"
    assert split(codec.build_ready(b"I")) == (ord("Z"), b"I")
    assert split(codec.build_auth(codec.AUTH_SASL, b"SCRAM-SHA-256\0\0")) == (
        ord("R"), struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0")


def test_has_frame_says_whether_a_whole_message_is_buffered() -> None:
    """The client stream pauses reading only while a whole message waits (client_stream)."""
    query = codec.build_query("SELECT 1")
    reader = FrameReader()
    assert not reader.has_frame()
    for i in range(len(query) - 1):
        reader.feed(query[i:i + 1])
        assert not reader.has_frame()
    reader.feed(query[-1:])
    assert reader.has_frame()
    reader.feed(query[:3])
    assert reader.next_frame() == (ord("Q"), b"SELECT 1\0")
    assert not reader.has_frame()


def test_split_bind_reads_the_usual_binds_as_the_general_reader_does() -> None:
    """`split_bind` reads the usual Binds (no format code, any number of values, zero or one
    result format) by their bytes: it must give what the general reader gives, error
    included, for every Bind of a seeded random set around those shapes (negative value
    lengths and counts among them)."""
    import random

    def read(data: bytes, general: bool) -> object:
        saved = codec._ONE_VALUE, codec._NO_VALUE, codec._NO_FORMATS
        if general:
            codec._ONE_VALUE = codec._NO_VALUE = codec._NO_FORMATS = b"never"
        try:
            return codec.split_bind(data, 3)
        except codec.ProtocolViolation as exc:
            return ("error", str(exc))
        finally:
            codec._ONE_VALUE, codec._NO_VALUE, codec._NO_FORMATS = saved

    rng = random.Random(7)
    for _ in range(8000):
        formats = [rng.choice([0, 1, 2]) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
        values = [rng.choice([None, b"", b"12", b"x" * rng.randint(0, 5), -2])
                  for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 5]))]
        results = [rng.choice([0, 1, 3]) for _ in range(rng.choice([0, 1, 1, 2]))]
        data = b"\0s\0" + struct.pack("!h", len(formats)) + b"".join(struct.pack("!h", f) for f in formats)
        data += struct.pack("!h", len(values) if rng.random() > 0.03 else -len(values) - 1)
        for value in values:
            if value == -2:
                data += struct.pack("!i", -2 if rng.random() < 0.1 else 1) + b"7"
                continue
            data += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
        data += struct.pack("!h", len(results)) + b"".join(struct.pack("!h", f) for f in results)
        data = data[: rng.choice([len(data), len(data), len(data) - 1, len(data) - 3, 7])]
        if rng.random() < 0.05:
            data += b"\0"
        assert read(data, general=False) == read(data, general=True), data
