"""Float values captured between plan steps as their binary send form are written back
as text that PostgreSQL reads to the same value (executor/subplans.exact_float_text),
whatever the session's bytea_output."""

from __future__ import annotations

import math
import struct

import pytest

from gridpg.executor.subplans import exact_float_text


def _hex(raw: bytes) -> bytes:
    return b"\\x" + raw.hex().encode()


def _escape(raw: bytes) -> bytes:
    out = b""
    for byte in raw:
        if byte == 0x5C:
            out += b"\\\\"
        elif 0x20 <= byte < 0x7F:
            out += bytes([byte])
        else:
            out += b"\\%03o" % byte
    return out


@pytest.mark.parametrize("encode", [_hex, _escape])
@pytest.mark.parametrize("value", [1 / 3, 2 / 3 + 1e-15, 1e300, -5e-324, 0.1, 92.0, -0.0])
def test_float8_round_trips(encode, value: float) -> None:
    text = exact_float_text(encode(struct.pack(">d", value)), ">d")
    assert text is not None
    assert float(text) == value and math.copysign(1, float(text)) == math.copysign(1, value)
    assert len(text.replace(b"-", b"").replace(b"e", b"").replace(b"+", b"").replace(b".", b"")) <= 17


@pytest.mark.parametrize("encode", [_hex, _escape])
@pytest.mark.parametrize("value", [1 / 7, 3.4e38, 1e-45, 0.1])
def test_float4_round_trips(encode, value: float) -> None:
    raw = struct.pack(">f", value)
    text = exact_float_text(encode(raw), ">f")
    assert text is not None
    assert struct.pack(">f", float(text)) == raw


def test_special_values_and_null() -> None:
    assert exact_float_text(_hex(struct.pack(">d", math.inf)), ">d") == b"Infinity"
    assert exact_float_text(_hex(struct.pack(">d", -math.inf)), ">d") == b"-Infinity"
    assert exact_float_text(_hex(struct.pack(">f", math.nan)), ">f") == b"NaN"
    assert exact_float_text(None, ">d") is None
