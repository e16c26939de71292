"""GTM wire protocol: framing, message shapes and the GTM error family.

A frame is a 4-byte big-endian payload length followed by that many bytes of UTF-8 JSON
holding one object. Requests carry ``"id"`` (an int chosen by the client) and ``"op"``;
responses carry the same ``"id"`` and either result fields or
``"error": {"code": <SQLSTATE>, "message": str}``. A frame larger than ``MAX_FRAME`` or
a payload that is not a JSON object is a protocol violation: the receiver answers with an
error (id ``null``) and closes the connection.

This module owns the byte format and the exceptions both ends raise. It is pure: no
asyncio, no sockets; the server and the client do the waiting.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

MAX_FRAME = 1 << 20
HEADER_SIZE = 4

_HEADER = struct.Struct(">I")

# SQLSTATE codes used by the GTM (PostgreSQL's own where one fits).
PROTOCOL_VIOLATION = "08P01"
PROGRAM_LIMIT_EXCEEDED = "54000"
FEATURE_NOT_SUPPORTED = "0A000"
INVALID_PARAMETER_VALUE = "22023"
NUMERIC_VALUE_OUT_OF_RANGE = "22003"
SEQUENCE_GENERATOR_LIMIT_EXCEEDED = "2200H"
UNDEFINED_TABLE = "42P01"
DUPLICATE_TABLE = "42P07"
IO_ERROR = "58030"
INTERNAL_ERROR = "XX000"
# This GTM does not act as the primary now (a standby, or a primary whose standby stopped
# confirming): the request was not run, the client may send it to another GTM address.
NOT_PRIMARY = "57P03"

Message = dict[str, Any]


class GtmError(Exception):
    """The GTM answered a request with an error (it said no)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_wire(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ProtocolError(GtmError):
    """A peer broke the framing or message rules; the connection must be closed."""


class GtmUnavailable(Exception):
    """The GTM cannot be reached, or the connection dropped before the answer came."""


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request: its id, its operation and the remaining fields."""

    id: int
    op: str
    fields: Message


def encode_frame(message: Message) -> bytes:
    """Serialize one message into a frame; raise ``ProtocolError`` if it is too large."""
    payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(payload) > MAX_FRAME:
        raise ProtocolError(
            PROGRAM_LIMIT_EXCEEDED, f"frame of {len(payload)} bytes exceeds {MAX_FRAME}"
        )
    return _HEADER.pack(len(payload)) + payload


def decode_length(header: bytes) -> int:
    """Return the payload length announced by a 4-byte header, refusing oversized frames."""
    if len(header) != HEADER_SIZE:
        raise ProtocolError(PROTOCOL_VIOLATION, f"frame header must be {HEADER_SIZE} bytes")
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(PROGRAM_LIMIT_EXCEEDED, f"frame of {length} bytes exceeds {MAX_FRAME}")
    return int(length)


def decode_payload(payload: bytes) -> Message:
    """Parse a frame payload into a JSON object."""
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(PROTOCOL_VIOLATION, f"frame is not UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError(PROTOCOL_VIOLATION, "frame must hold a JSON object")
    return message


def parse_request(message: Message) -> Request:
    """Validate a decoded message as a request; a missing or bad id is fatal."""
    request_id = message.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise ProtocolError(PROTOCOL_VIOLATION, "request needs an integer 'id'")
    op = message.get("op")
    if not isinstance(op, str):
        raise GtmError(PROTOCOL_VIOLATION, "request needs a string 'op'")
    fields = {k: v for k, v in message.items() if k not in ("id", "op")}
    return Request(id=request_id, op=op, fields=fields)


def build_request(request_id: int, op: str, fields: Message) -> Message:
    return {**fields, "id": request_id, "op": op}


def build_response(request_id: int | None, result: Message) -> Message:
    return {**result, "id": request_id}


def build_error(request_id: int | None, error: GtmError) -> Message:
    return {"id": request_id, "error": error.to_wire()}


def response_result(message: Message) -> Message:
    """Return a response's result fields, raising ``GtmError`` if it carries an error."""
    error = message.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise ProtocolError(PROTOCOL_VIOLATION, "malformed error in response")
        raise GtmError(str(error.get("code", INTERNAL_ERROR)), str(error.get("message", "")))
    return {k: v for k, v in message.items() if k != "id"}


class FrameDecoder:
    """Incremental decoder: feed bytes, get back the complete messages they finish.

    After it has raised ``ProtocolError`` the stream is unusable and must be closed.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer.extend(data)
        messages: list[Message] = []
        while len(self._buffer) >= HEADER_SIZE:
            length = decode_length(bytes(self._buffer[:HEADER_SIZE]))
            end = HEADER_SIZE + length
            if len(self._buffer) < end:
                break
            payload = bytes(self._buffer[HEADER_SIZE:end])
            del self._buffer[:end]
            messages.append(decode_payload(payload))
        return messages

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)
