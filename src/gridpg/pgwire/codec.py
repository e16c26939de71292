"""Framing and the messages of the PostgreSQL v3 protocol, both directions. No I/O.

`FrameReader` turns a byte stream into (type, payload) frames and enforces the maximum
message size; `build_*` functions make the bytes of one message; `parse_*` functions read
one payload. The frontend server and the datanode client share all of it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

PROTOCOL_V3 = 196608  # 3.0
PROTOCOL_V3_2 = 196610  # 3.2 (PostgreSQL 18)
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024
MAX_STARTUP_PACKET = 10_000

_I32 = struct.Struct("!i")
_I16 = struct.Struct("!h")
_HDR = struct.Struct("!ci")


class ProtocolViolation(Exception):
    """The peer broke the protocol; `sqlstate` says how (08P01 unless stated). `unanswered`:
    the connection is closed without an ErrorResponse, only logged (PostgreSQL's COMMERROR),
    as PostgreSQL does for a startup packet of impossible length: those bytes are not a
    client speaking the protocol (a client that sent Terminate before its startup packet,
    as node-postgres does when a connection is ended while it opens, or a port scanner)."""

    def __init__(self, message: str, sqlstate: str = "08P01", unanswered: bool = False) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.unanswered = unanswered


class FrameReader:
    """Accumulates bytes and yields complete (type byte, payload) frames."""

    __slots__ = ("_buf", "_pos", "expect_startup", "max_message")

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE, expect_startup: bool = False) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.max_message = max_message
        self.expect_startup = expect_startup

    def feed(self, data: bytes) -> int:
        """Append received bytes; how many are buffered now (not read yet)."""
        buf = self._buf
        buf += data
        return len(buf) - self._pos

    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def take_buffered(self) -> bytes:
        """The bytes received and not read yet (a connection handed over elsewhere)."""
        data = bytes(self._buf[self._pos:])
        self._buf.clear()
        self._pos = 0
        return data

    def next_startup(self) -> bytes | None:
        """A startup-phase packet (length-prefixed, no type byte), or None if incomplete."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 4:
            return None
        (length,) = _I32.unpack_from(buf, pos)
        if length < 8 or length > MAX_STARTUP_PACKET:
            raise ProtocolViolation(f"invalid length of startup packet ({length})", unanswered=True)
        if len(buf) - pos < length:
            return None
        packet = bytes(buf[pos + 4 : pos + length])
        self._advance(length)
        return packet

    def has_frame(self) -> bool:
        """Whether a whole message is buffered (after the startup phase): while none is,
        only more bytes from the client let the session go on."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 5:
            return False
        (length,) = _I32.unpack_from(buf, pos + 1)
        return pos + 1 + length <= len(buf)

    def peek_type(self) -> int | None:
        """The type byte of the next buffered message, if any."""
        if self._pos < len(self._buf):
            return self._buf[self._pos]
        return None

    def next_frame(self) -> tuple[int, bytes] | None:
        """The next (type, payload) or None when more bytes are needed."""
        buf, pos = self._buf, self._pos
        size = len(buf)
        if size - pos < 5:
            return None
        (length,) = _I32.unpack_from(buf, pos + 1)
        if length < 4 or length > self.max_message:
            self._frame_end()  # raises the precise error
        end = pos + 1 + length
        if end > size:
            return None
        frame = buf[pos], bytes(buf[pos + 5 : end])
        if end == size:
            buf.clear()
            self._pos = 0
        else:
            self._advance(end - pos)
        return frame

    def cycle_after_bind(self) -> bool | None:
        """After a Bind: whether the buffered bytes go on with exactly [Describe of the
        unnamed portal] + Execute of the unnamed portal, no row limit + Sync (libpq's
        PQexecPrepared): True with the Describe, False without, None for anything else."""
        buf, pos = self._buf, self._pos
        if buf.startswith(_DESCRIBE_UNNAMED_PORTAL, pos):
            pos += len(_DESCRIBE_UNNAMED_PORTAL)
            described = True
        else:
            described = False
        if len(buf) - pos != len(_EXECUTE_SYNC) or not buf.startswith(_EXECUTE_SYNC, pos):
            return None
        return described

    def peek_bind_cycle(self) -> tuple[bytes, bool] | None:
        """The buffered bytes as exactly Bind + [Describe of the unnamed portal] + Execute of
        the unnamed portal, no row limit + Sync: (the Bind's payload, whether the Describe is
        there); None for anything else. Nothing is consumed."""
        buf, pos = self._buf, self._pos
        size = len(buf)
        if size - pos < 5 or buf[pos] != 0x42:
            return None
        (length,) = _I32.unpack_from(buf, pos + 1)
        end = pos + 1 + length
        if length < 4 or length > self.max_message or end > size:
            return None
        rest = size - end
        if rest == _EXECUTE_SYNC_SIZE:
            described = False
        elif rest == _DESCRIBED_CYCLE_SIZE and buf.startswith(_DESCRIBE_UNNAMED_PORTAL, end):
            described = True
        else:
            return None
        if not buf.endswith(_EXECUTE_SYNC):
            return None
        return bytes(buf[pos + 5 : end]), described

    def peek_query(self) -> bytes | None:
        """The buffered bytes as exactly one simple Query: its text's bytes (to the first
        NUL); None for anything else. Nothing is consumed."""
        buf, pos = self._buf, self._pos
        size = len(buf)
        if size - pos < 6 or buf[pos] != 0x51:
            return None
        (length,) = _I32.unpack_from(buf, pos + 1)
        if pos + 1 + length != size or length > self.max_message:
            return None
        end = buf.find(b"\0", pos + 5)
        return bytes(buf[pos + 5 : end]) if end >= 0 else None

    def skip_buffered(self) -> None:
        """Drop every buffered byte (the cycle `cycle_after_bind` read)."""
        self._buf.clear()
        self._pos = 0

    def next_raw_frame(self) -> tuple[int, bytes] | None:
        """Like next_frame but returns the whole message bytes (header included)."""
        end = self._frame_end()
        if end is None:
            return None
        pos = self._pos
        kind, raw = self._buf[pos], bytes(self._buf[pos:end])
        self._advance(end - pos)
        return kind, raw

    def raw_frames(self) -> list[tuple[int, bytes]]:
        """Every complete buffered message as (type, whole bytes), in one pass (the relay's
        hot path: a datanode's answer arrives as a few messages per read)."""
        buf, pos = self._buf, self._pos
        size = len(buf)
        out = []
        unpack = _I32.unpack_from
        limit = self.max_message
        while size - pos >= 5:
            (length,) = unpack(buf, pos + 1)
            if length < 4 or length > limit:
                self._pos = pos
                self._frame_end()  # raises the precise error
            end = pos + 1 + length
            if end > size:
                break
            out.append((buf[pos], bytes(buf[pos:end])))
            pos = end
        if pos == size:
            buf.clear()
            self._pos = 0
        else:
            self._pos = pos
            if pos > 65536 and pos * 2 > size:
                del buf[:pos]
                self._pos = 0
        return out

    def _frame_end(self) -> int | None:
        """Where the buffered message ends, None if incomplete; its length is checked."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 5:
            return None
        (length,) = _I32.unpack_from(buf, pos + 1)
        if length < 4:
            raise ProtocolViolation(f"invalid message length {length}")
        if length > self.max_message:
            raise ProtocolViolation(
                f"message of {length} bytes exceeds the maximum of {self.max_message}", "54000"
            )
        end = pos + 1 + length
        return end if len(buf) >= end else None

    def _advance(self, n: int) -> None:
        self._pos += n
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        elif self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0


# -- helpers ---------------------------------------------------------------------------


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + _I32.pack(len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


class PayloadReader:
    """Reads fields from one message payload; any overrun is a protocol violation."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise ProtocolViolation("message too short")
        (value,) = _I32.unpack_from(self.data, self.pos)
        self.pos += 4
        return int(value)

    def int16(self) -> int:
        if self.pos + 2 > len(self.data):
            raise ProtocolViolation("message too short")
        (value,) = _I16.unpack_from(self.data, self.pos)
        self.pos += 2
        return int(value)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ProtocolViolation("message too short")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolViolation("unterminated string in message")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise ProtocolViolation("invalid byte sequence for encoding \"UTF8\"", "22021") from None

    def bytes_n(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolViolation("message too short")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def rest(self) -> bytes:
        value = self.data[self.pos :]
        self.pos = len(self.data)
        return value

    def ensure_end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolViolation("unexpected trailing bytes in message")


# -- startup phase ---------------------------------------------------------------------


@dataclass
class Startup:
    code: int
    params: dict[str, str] = field(default_factory=dict)
    cancel_pid: int = 0
    cancel_key: bytes = b""


def parse_startup(packet: bytes) -> Startup:
    reader = PayloadReader(packet)
    code = reader.int32()
    if code == CANCEL_REQUEST:
        pid = reader.int32()
        return Startup(code, cancel_pid=pid, cancel_key=reader.rest())
    if code in (SSL_REQUEST, GSSENC_REQUEST):
        return Startup(code)
    if code >> 16 != 3:
        raise ProtocolViolation(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}", "0A000")
    params: dict[str, str] = {}
    while True:
        key = reader.cstring()
        if not key:
            break
        params[key] = reader.cstring()
    return Startup(code, params)


def build_startup(params: dict[str, str], code: int = PROTOCOL_V3) -> bytes:
    body = _I32.pack(code) + b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\0"
    return _I32.pack(len(body) + 4) + body


def build_cancel_request(pid: int, key: bytes) -> bytes:
    body = _I32.pack(CANCEL_REQUEST) + _I32.pack(pid) + key
    return _I32.pack(len(body) + 4) + body


# -- backend messages (server -> client) ----------------------------------------------


def build_auth(code: int, extra: bytes = b"") -> bytes:
    return message(b"R", _I32.pack(code) + extra)


AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12


def build_parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def build_backend_key(pid: int, key: bytes) -> bytes:
    return message(b"K", _I32.pack(pid) + key)


def build_ready(status: bytes) -> bytes:
    found = _READY_MESSAGES.get(status)
    return found if found is not None else message(b"Z", status)


_READY_MESSAGES = {status: message(b"Z", status) for status in (b"I", b"T", b"E")}


def build_notification(pid: int, channel: str, payload: str) -> bytes:
    """NotificationResponse ('A'): the notifying backend's pid, the channel, the payload."""
    return message(b"A", _I32.pack(pid) + cstr(channel) + cstr(payload))


def parse_notification(payload: bytes) -> tuple[int, str, str]:
    """A NotificationResponse's (pid, channel, payload), from the payload after the header."""
    reader = PayloadReader(payload)
    pid = reader.int32()
    return pid, reader.cstring(), reader.cstring()


def build_command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


EMPTY_QUERY = message(b"I")
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
COPY_DONE = message(b"c")
SYNC = message(b"S")
FLUSH = message(b"H")
TERMINATE = message(b"X")
_DESCRIBE_UNNAMED_PORTAL = message(b"D", b"P\0")
_EXECUTE_SYNC = message(b"E", b"\0\0\0\0\0") + SYNC  # unnamed portal, no row limit
_EXECUTE_SYNC_SIZE = len(_EXECUTE_SYNC)
_DESCRIBED_CYCLE_SIZE = len(_DESCRIBE_UNNAMED_PORTAL) + len(_EXECUTE_SYNC)


@dataclass(frozen=True)
class Column:
    name: str
    table_oid: int = 0
    attnum: int = 0
    type_oid: int = 25
    type_size: int = -1
    type_mod: int = -1
    format: int = 0


def build_row_description(columns: list[Column]) -> bytes:
    parts = [_I16.pack(len(columns))]
    for c in columns:
        parts.append(cstr(c.name))
        parts.append(struct.pack("!ihihih", c.table_oid, c.attnum, c.type_oid, c.type_size, c.type_mod, c.format))
    return message(b"T", b"".join(parts))


def parse_row_description(payload: bytes) -> list[Column]:
    reader = PayloadReader(payload)
    columns = []
    for _ in range(reader.int16()):
        name = reader.cstring()
        table_oid, attnum, type_oid, size, mod, fmt = struct.unpack(
            "!ihihih", reader.bytes_n(18)
        )
        columns.append(Column(name, table_oid, attnum, type_oid, size, mod, fmt))
    return columns


def map_row_description_types(message: bytes, oids: Mapping[int, int]) -> bytes:
    """A whole RowDescription message with each column's type OID found in `oids` replaced
    by its value (a datanode's OID of a user or extension type by the catalog server's)."""
    count = int.from_bytes(message[5:7], "big")
    pos = 7
    out: bytearray | None = None
    for _ in range(count):
        pos = message.index(0, pos) + 7  # past the name, table OID and column number
        mapped = oids.get(int.from_bytes(message[pos:pos + 4], "big"))
        if mapped is not None:
            if out is None:
                out = bytearray(message)
            out[pos:pos + 4] = mapped.to_bytes(4, "big")
        pos += 12
    return message if out is None else bytes(out)


def map_row_description(message: bytes, oids: Mapping[int, int],
                        relations: Mapping[int, tuple[int, Mapping[int, int] | None]]) -> bytes:
    """`map_row_description_types`, and each column's table OID and column number of a
    user relation (16384 and up) by `relations` (catalog/relation_oids.py); a relation
    not found there is named 0, column 0."""
    count = int.from_bytes(message[5:7], "big")
    pos = 7
    out = bytearray(message)
    for _ in range(count):
        pos = message.index(0, pos) + 1
        table = int.from_bytes(message[pos:pos + 4], "big")
        if table >= 16384:
            found = relations.get(table)
            column = int.from_bytes(message[pos + 4:pos + 6], "big", signed=True)
            if found is None:
                table, column = 0, 0
            else:
                table = found[0]
                if found[1] is not None:
                    column = found[1].get(column, 0)
            out[pos:pos + 4] = table.to_bytes(4, "big")
            out[pos + 4:pos + 6] = column.to_bytes(2, "big", signed=True)
        mapped = oids.get(int.from_bytes(message[pos + 6:pos + 10], "big"))
        if mapped is not None:
            out[pos + 6:pos + 10] = mapped.to_bytes(4, "big")
        pos += 18
    return bytes(out)


def build_data_row(values: list[bytes | None]) -> bytes:
    parts = [_I16.pack(len(values))]
    for v in values:
        if v is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_I32.pack(len(v)))
            parts.append(v)
    return message(b"D", b"".join(parts))


def parse_data_row(payload: bytes) -> list[bytes | None]:
    reader = PayloadReader(payload)
    values: list[bytes | None] = []
    for _ in range(reader.int16()):
        n = reader.int32()
        values.append(None if n < 0 else reader.bytes_n(n))
    return values


def build_parameter_description(oids: list[int]) -> bytes:
    return message(b"t", _I16.pack(len(oids)) + b"".join(_I32.pack(_oid32(o)) for o in oids))


def parse_parameter_description(payload: bytes) -> list[int]:
    reader = PayloadReader(payload)
    return [reader.int32() & 0xFFFFFFFF for _ in range(reader.int16())]


def build_copy_response(kind: bytes, fmt: int, ncols: int) -> bytes:
    return message(kind, bytes([fmt]) + _I16.pack(ncols) + _I16.pack(fmt) * ncols)


def build_copy_data(data: bytes) -> bytes:
    return message(b"d", data)


ERROR_FIELDS = {
    "S": "severity", "V": "severity_nonlocalized", "C": "sqlstate", "M": "message",
    "D": "detail", "H": "hint", "P": "position", "p": "internal_position",
    "q": "internal_query", "W": "where", "s": "schema", "t": "table", "c": "column",
    "d": "datatype", "n": "constraint", "F": "file", "L": "line", "R": "routine",
}


def parse_error_fields(payload: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(payload) and payload[pos] != 0:
        code = chr(payload[pos])
        end = payload.find(b"\0", pos + 1)
        if end < 0:
            raise ProtocolViolation("unterminated field in error message")
        fields[code] = payload[pos + 1 : end].decode(errors="replace")
        pos = end + 1
    return fields


def build_error_fields(kind: bytes, fields: dict[str, str]) -> bytes:
    body = b"".join(code.encode() + cstr(value) for code, value in fields.items() if value is not None)
    return message(kind, body + b"\0")


# -- frontend messages (client -> server) ---------------------------------------------


def build_query(sql: str) -> bytes:
    return message(b"Q", cstr(sql))


def build_parse(name: str, sql: str, param_oids: list[int] | tuple[int, ...] = ()) -> bytes:
    body = cstr(name) + cstr(sql) + _I16.pack(len(param_oids))
    body += b"".join(_I32.pack(_oid32(o)) for o in param_oids)
    return message(b"P", body)


@dataclass
class Parse:
    name: str
    sql: str
    param_oids: list[int]


def parse_parse(payload: bytes) -> Parse:
    reader = PayloadReader(payload)
    name = reader.cstring()
    sql = reader.cstring()
    oids = [reader.int32() & 0xFFFFFFFF for _ in range(_nonneg(reader.int16()))]
    return Parse(name, sql, oids)


@dataclass
class Bind:
    portal: str
    statement: str
    param_formats: list[int]
    params: list[bytes | None]
    result_formats: list[int]


def parse_bind(payload: bytes) -> Bind:
    reader = PayloadReader(payload)
    portal = reader.cstring()
    statement = reader.cstring()
    return Bind(portal, statement, *split_bind(payload, reader.pos))


def backend_messages(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """(type byte, payload, the whole message) of each complete message in `data`, a run of
    messages as a server sends them (the captured output of a statement)."""
    pos = 0
    while pos + 5 <= len(data):
        length = int.from_bytes(data[pos + 1 : pos + 5], "big")
        yield data[pos], data[pos + 5 : pos + 1 + length], data[pos : pos + 1 + length]
        pos += 1 + length


def without_message_type(data: bytes, kind: bytes) -> bytes:
    """`data`, a run of whole backend messages, without the messages of type `kind`."""
    if kind not in data:
        return data
    code = kind[0]
    return b"".join(whole for t, _payload, whole in backend_messages(data) if t != code)


_ONE_VALUE = b"\0\0\0\1"  # no parameter format code, one value
_NO_VALUE = b"\0\0\0\0"
_NO_RESULT_FORMAT = b"\0\0"
_NO_FORMATS = b"\0\0"  # no parameter format code (every value text)
_TEXT_RESULTS = b"\0\1\0\0"  # one result format code: text
_BINARY_RESULTS = b"\0\1\0\1"


def split_bind(data: bytes, pos: int) -> tuple[list[int], list[bytes | None], list[int]]:
    """A Bind's formats, values and result formats from `pos` (after its two names),
    checked as `parse_bind` checks them. The hot path of every Execute: one function, no
    reader or message object, no call for the usual zero or one format code and the
    usual single value (the fast path reads the names itself)."""
    size = len(data)
    head = data[pos : pos + 4]
    # The usual Binds, read by their bytes: no format codes and no value (BEGIN, COMMIT) or
    # one value (pgbench -S); no result format code, or one that is 0 or 1.
    if head == _ONE_VALUE and size >= pos + 8:
        (n,) = _I32.unpack_from(data, pos + 4)
        end = pos + 8 + n
        if n >= 0 and end <= size:
            tail = data[end:]
            if tail == _NO_RESULT_FORMAT:
                return [], [data[pos + 8 : end]], []
            if tail == _TEXT_RESULTS or tail == _BINARY_RESULTS:
                return [], [data[pos + 8 : end]], [tail[3]]
    elif head == _NO_VALUE:
        tail = data[pos + 4 :]
        if tail == _NO_RESULT_FORMAT:
            return [], [], []
        if tail == _TEXT_RESULTS or tail == _BINARY_RESULTS:
            return [], [], [tail[3]]
    elif head[:2] == _NO_FORMATS:
        # Several values, no format code (libpq's PQexecPrepared: TPC-B's UPDATEs and
        # INSERT): one tight pass; anything unusual is left to the general reader below.
        found = _text_values(data, pos, size)
        if found is not None:
            return found
    unpack16 = _I16.unpack_from
    try:
        (count,) = unpack16(data, pos)
        formats = [] if count == 0 else [unpack16(data, pos + 2)[0]] if count == 1 else _int16s(data, pos + 2, count)
        pos += 2 + 2 * count
        (count,) = unpack16(data, pos)
        pos += 2
        params: list[bytes | None]
        if count == 1:
            (n,) = _I32.unpack_from(data, pos)
            pos += 4
            if n == -1:
                params = [None]
            elif n < 0 or pos + n > size:
                raise ProtocolViolation("message too short")
            else:
                params = [data[pos : pos + n]]
                pos += n
        else:
            params = []
            for _ in range(count if count >= 0 else _nonneg(count)):
                (n,) = _I32.unpack_from(data, pos)
                pos += 4
                if n == -1:
                    params.append(None)
                    continue
                if n < 0 or pos + n > size:
                    raise ProtocolViolation("message too short")
                params.append(data[pos : pos + n])
                pos += n
        (count,) = unpack16(data, pos)
        results = [] if count == 0 else [unpack16(data, pos + 2)[0]] if count == 1 else _int16s(data, pos + 2, count)
    except struct.error:
        raise ProtocolViolation("message too short") from None
    for f in formats:
        if f != 0 and f != 1:
            raise ProtocolViolation(f"unsupported format code: {f}")
    for f in results:
        if f != 0 and f != 1:
            raise ProtocolViolation(f"unsupported format code: {f}")
    if len(formats) > 1 and len(formats) != len(params):
        raise ProtocolViolation(
            f"bind message has {len(formats)} parameter formats but {len(params)} parameters"
        )
    return formats, params, results


def _text_values(data: bytes, pos: int, size: int) -> tuple[list[int], list[bytes | None], list[int]] | None:
    """`split_bind` of a Bind with no format code and one of the usual result format
    tails, its values read in one pass; None: any other Bind (the general reader decides,
    its errors included)."""
    params: list[bytes | None] = []
    append = params.append
    unpack = _I32.unpack_from
    try:
        (count,) = _I16.unpack_from(data, pos + 2)
        pos += 4
        for _ in range(count):  # (a negative count: no pass, and no usual tail below)
            (n,) = unpack(data, pos)
            pos += 4
            if n >= 0:
                append(data[pos : pos + n])
                pos += n  # (a value past the end leaves no usual tail below)
            elif n == -1:
                append(None)
            else:
                return None
    except struct.error:
        return None
    if count < 0 or pos > size:
        return None
    tail = data[pos:]
    if tail == _NO_RESULT_FORMAT:
        return [], params, []
    if tail == _TEXT_RESULTS or tail == _BINARY_RESULTS:
        return [], params, [tail[3]]
    return None


def _int16s(data: bytes, pos: int, count: int) -> list[int]:
    """`count` int16 at `pos` (count > 1, or negative: an error)."""
    return list(struct.unpack_from(f">{_nonneg(count)}h", data, pos))


def build_bind(
    portal: str, statement: str, param_formats: list[int], params: list[bytes | None],
    result_formats: list[int],
) -> bytes:
    parts = [cstr(portal), cstr(statement), _I16.pack(len(param_formats))]
    parts += [_I16.pack(f) for f in param_formats]
    parts.append(_I16.pack(len(params)))
    for p in params:
        if p is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_I32.pack(len(p)))
            parts.append(p)
    parts.append(_I16.pack(len(result_formats)))
    parts += [_I16.pack(f) for f in result_formats]
    return message(b"B", b"".join(parts))


def parse_describe_or_close(payload: bytes) -> tuple[str, str]:
    reader = PayloadReader(payload)
    kind = chr(reader.byte())
    if kind not in ("S", "P"):
        raise ProtocolViolation(f"invalid DESCRIBE/CLOSE message subtype {kind!r}")
    return kind, reader.cstring()


def build_describe(kind: str, name: str) -> bytes:
    return message(b"D", kind.encode() + cstr(name))


def build_close(kind: str, name: str) -> bytes:
    return message(b"C", kind.encode() + cstr(name))


def parse_execute(payload: bytes) -> tuple[str, int]:
    reader = PayloadReader(payload)
    return reader.cstring(), reader.int32()


def build_execute(portal: str, max_rows: int = 0) -> bytes:
    return message(b"E", cstr(portal) + _I32.pack(max_rows))


def _oid32(oid: int) -> int:
    """An unsigned OID as the signed int32 that carries the same four bytes."""
    return oid if oid < 2**31 else oid - 2**32


def _nonneg(n: int) -> int:
    if n < 0:
        raise ProtocolViolation("negative count in message")
    return n
