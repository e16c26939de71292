"""Binary-format parameter values turned into their PostgreSQL text form, for routing.

Only the types a distribution column may have and a client commonly sends in binary
(asyncpg sends everything in binary). None means "cannot tell": the caller then does not
route on that value.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid

_PG_EPOCH_DATE = dt.date(2000, 1, 1)
_PG_EPOCH = dt.datetime(2000, 1, 1)


def decode_binary_param(oid: int, raw: bytes) -> str | None:
    decoder = _DECODERS.get(oid)
    if decoder is None:
        return None
    try:
        return decoder(raw)
    except (struct.error, ValueError, OverflowError):
        return None


def _int(raw: bytes) -> str:
    return str(int.from_bytes(raw, "big", signed=True))


def _bool(raw: bytes) -> str:
    return "true" if raw[:1] == b"\x01" else "false"


def _text(raw: bytes) -> str:
    return raw.decode()


def _uuid(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw))


def _date(raw: bytes) -> str:
    days = struct.unpack("!i", raw)[0]
    return (_PG_EPOCH_DATE + dt.timedelta(days=days)).isoformat()


def _timestamp(raw: bytes) -> str:
    usecs = struct.unpack("!q", raw)[0]
    return (_PG_EPOCH + dt.timedelta(microseconds=usecs)).isoformat(sep=" ")


def _timestamptz(raw: bytes) -> str:
    return _timestamp(raw) + "+00"


_DECODERS = {
    20: _int, 21: _int, 23: _int, 26: lambda r: str(int.from_bytes(r, "big")),
    16: _bool, 25: _text, 1043: _text, 19: _text, 1042: _text, 2950: _uuid,
    1082: _date, 1114: _timestamp, 1184: _timestamptz,
}
