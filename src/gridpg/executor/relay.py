"""Run one statement on one node and relay its answer to the client unchanged.

The hot path: the node's DataRow/CommandComplete bytes go to the client as they came, with
no decoding. In the extended protocol the statement is prepared on the node under a name
derived from its text (once per backend connection), bound with the client's parameters
and formats, and executed; the node is Synced when the client Syncs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.planner.prepared import FIRST_NORMAL_OID
from gridpg.sql import xact_time

if TYPE_CHECKING:
    from gridpg.executor.routed import RoutedStatement

# Message types.
_DATA_ROW = 0x44
_COMMAND_COMPLETE = 0x43
_ERROR = 0x45
_READY = 0x5A
_ROW_DESCRIPTION = 0x54
_NOTICE = 0x4E
_EMPTY = 0x49
_PORTAL_SUSPENDED = 0x73
_COPY_IN = 0x47
_COPY_OUT = 0x48
_PARAMETER_STATUS = 0x53
_NOTIFICATION = 0x41


@dataclass
class RelayResult:
    tag: str = ""
    error: PgError | None = None
    suspended: bool = False
    rows: int = 0
    copy_in: bool = False
    status: bytes = b"I"
    extra: list[bytes] = field(default_factory=list)
    parse_complete: bool = False  # a ParseComplete arrived (the statement's Parse succeeded)
    synced: bool = False  # the node's ReadyForQuery was read too (finish_extended through_ready)


def statement_name(sql: str, param_oids: list[int] | tuple[int, ...] = ()) -> str:
    """The node-side name of a prepared statement: its text and declared parameter types
    (remembered: the simple protocol's fast path names its statement at every execution)."""
    key = (sql, tuple(param_oids))
    name = _NAMES.get(key)
    if name is None:
        digest = hashlib.blake2b(sql.encode() + b"\0" + ",".join(map(str, param_oids)).encode(), digest_size=10)
        name = "gp_" + digest.hexdigest()
        if len(_NAMES) > 4096:
            _NAMES.clear()
        _NAMES[key] = name
    return name


_NAMES: dict[tuple[str, tuple[int, ...]], str] = {}


def portal_name(client_portal: str) -> str:
    """The node-side name of a client's portal executed in pieces (Execute with a row
    limit): named, as the client's unnamed portal would be dropped by any other statement
    the coordinator sends the node on that connection. Every Execute of the portal, the
    first and each one after a PortalSuspended, must name this one."""
    return "gp_" + (client_portal or "unnamed")


def start_extended(
    conn: BackendConnection, sql: str, param_oids: list[int], params: list[bytes | None],
    param_formats: list[int], result_formats: list[int], max_rows: int, portal: str = "",
    sync: bool = False, catalog: bool = False, execute: bool = True, instant: str | None = None,
) -> None:
    """Send Parse (first use on this connection) + Bind + Execute + Flush (or Sync).
    `catalog`: the connection is the coordinator's catalog server, whose type OIDs are the
    ones the client knows: its parameter types go as they are. Without `execute`, the
    portal is only bound (its snapshot taken), to be executed later. `instant`: the
    statement's transaction instant given first, in the same cycle (`give_instant`): its
    answer is `finish_extended`'s to skip (`skip=1`)."""
    if instant is not None:
        give_instant(conn, instant)
    name = statement_name(sql, param_oids)
    parts: list[bytes] = []
    if conn.prepared.get(name) != sql:
        oids = list(param_oids) if catalog else node_param_oids(param_oids, conn.type_map)
        _prepare(conn, parts, name, sql, codec.build_parse(name, sql, oids))
    if portal:  # a named node portal may remain from an earlier Execute of this transaction
        parts.append(codec.build_close("P", portal))
    parts.append(codec.build_bind(portal, name, param_formats, params, result_formats))
    if execute:
        parts.append(codec.build_execute(portal, max_rows))
    parts.append(codec.SYNC if sync else codec.FLUSH)
    conn.in_cycle = not sync
    conn.send(b"".join(parts))


def start_close_portal(conn: BackendConnection, portal: str) -> None:
    """Close a node portal (Close + Flush) inside the node's current cycle, which the
    client's Sync ends; `finish_close_portal` reads the answer."""
    conn.send(codec.build_close("P", portal) + codec.FLUSH)
    conn.in_cycle = True


async def finish_close_portal(conn: BackendConnection) -> PgError | None:
    """The answer to `start_close_portal`: None at CloseComplete, else the node's error (a
    node whose cycle already failed skips the Close until Sync: its ReadyForQuery is put
    back for the Sync's reader)."""
    while True:
        kind, raw = conn.try_recv_raw() or await conn.recv_raw()
        if kind == 0x33:
            return None
        if kind == _ERROR:
            conn.note_cycle_error()
            return conn.error(codec.parse_error_fields(raw[5:]))
        if kind == _READY:
            conn.unread([(kind, raw)])
            return None


def give_instant(conn: BackendConnection, instant: str) -> None:
    """Give the transaction the statement's instant (`gridpg.xact_now`, read by the
    trigger functions the statement fires: sql/trigger_relation.py) ahead of a statement
    that runs as a transaction of its own on the node (outside a block, one node): in the
    same cycle, so the same transaction, with no round trip; the node reverts it when that
    transaction ends. Its answer (ParseComplete, BindComplete, CommandComplete) comes
    first: the relay skips it (`skip`)."""
    conn.send_before(_instant_messages(instant))


def _instant_messages(instant: str) -> bytes:
    return b"".join((codec.build_parse("", xact_time.set_local_statement(instant), []),
                     codec.build_bind("", "", [], [], []), codec.build_execute("", 0)))


def node_param_oids(param_oids: list[int] | tuple[int, ...], type_map: dict[int, int] | None = None) -> list[int]:
    """Parameter types as a datanode knows them: OIDs of the user's own types (enums,
    composites, domains, their arrays) are the catalog server's and name nothing, or another
    object, on a datanode. Where the node's type map (node OID -> catalog OID, loaded at the
    catalog epoch) knows the type, its node OID is sent: a multi-row INSERT split over the
    nodes leaves a node's statement without some parameters, and an unused one sent
    unspecified failed (42P18 "could not determine data type of parameter $6",
    SQLAlchemy's insertmanyvalues into an enum column). Otherwise it is sent unspecified
    and the datanode infers it from the statement (its own type of the same name)."""
    if not type_map or not any(oid >= FIRST_NORMAL_OID for oid in param_oids):
        return [oid if oid < FIRST_NORMAL_OID else 0 for oid in param_oids]
    to_node = {catalog: node for node, catalog in type_map.items()}
    return [oid if oid < FIRST_NORMAL_OID else to_node.get(oid, 0) for oid in param_oids]


def start_routed(conn: BackendConnection, route: RoutedStatement, bind_tail: bytes, sync: bool) -> None:
    """The prepared fast path: (Parse once per connection) + spliced Bind
    (`RoutedStatement.bind_message`, joined here with the Execute) + Execute + Sync/Flush."""
    head = route.bind_head
    data = b"".join((b"B", (4 + len(head) + len(bind_tail)).to_bytes(4, "big"), head, bind_tail,
                     _EXECUTE_SYNC if sync else _EXECUTE_FLUSH))
    if conn.prepared.get(route.name) != route.sql:
        parts: list[bytes] = []
        _prepare(conn, parts, route.name, route.sql, route.parse)
        parts.append(data)
        data = b"".join(parts)
    conn.in_cycle = not sync
    conn.send(data, 1 if sync else 0)


_EXECUTE_SYNC = codec.build_execute("", 0) + codec.SYNC
_EXECUTE_FLUSH = codec.build_execute("", 0) + codec.FLUSH


def _prepare(conn: BackendConnection, parts: list[bytes], name: str, sql: str, parse: bytes) -> None:
    """Queue the Parse of `name` (closing a stale statement of that name first)."""
    if name in conn.prepared or name in conn.uncertain:
        parts.append(codec.build_close("S", name))
        conn.uncertain.discard(name)
    parts.append(parse)
    conn.prepared[name] = sql
    conn.cycle_parsed.add(name)


async def finish_extended(
    conn: BackendConnection, emit: Callable[[bytes], None], through_ready: bool = False, skip: int = 0,
) -> RelayResult:
    """Relay until CommandComplete / PortalSuspended / ErrorResponse / EmptyQueryResponse.

    Frames after that one (a ReadyForQuery when the Sync went with the Execute) are put
    back for the reader that expects them; with `through_ready` (the Sync went with the
    Execute) a ReadyForQuery that came in the same read, and nothing else, is taken here
    instead (`synced`: the cycle is over on the node, nobody has to read it again).
    `skip`: the CommandCompletes of statements sent before the client's (`give_instant`),
    not relayed.
    """
    result = RelayResult()
    while True:
        batch = await conn.recv_batch()
        for index, (kind, raw) in enumerate(batch):
            if skip and kind == _COMMAND_COMPLETE:
                skip -= 1
                continue
            if kind == _DATA_ROW:
                emit(raw)
                result.rows += 1
                continue
            if kind in (_NOTICE, _PARAMETER_STATUS, _NOTIFICATION):
                emit(raw)
                continue
            if kind == _COMMAND_COMPLETE:
                emit(raw)
                result.tag = raw[5:-1].decode()
            elif kind == _ERROR:
                result.error = conn.error(codec.parse_error_fields(raw[5:]))
                # The node skips to Sync: the Parses of this cycle may or may not have happened.
                conn.note_cycle_error()
                if result.error.sqlstate == "26000":  # a statement we thought prepared is gone
                    conn.uncertain.update(conn.prepared)
                    conn.prepared.clear()
            elif kind in (_PORTAL_SUSPENDED, _EMPTY):
                emit(raw)
                result.suspended = kind == _PORTAL_SUSPENDED
            elif kind in (_COPY_IN, _COPY_OUT):
                result.copy_in = kind == _COPY_IN
                result.extra.append(raw)
            else:
                continue  # ParseComplete, BindComplete, CloseComplete, RowDescription
            rest = batch[index + 1 :]
            if through_ready and len(rest) == 1 and rest[0][0] == _READY:
                conn.txn_status = rest[0][1][5:6]  # as sync_cycles would take it
                conn.cycle_parsed.clear()
                conn.in_cycle = False
                result.synced = True
            elif rest:
                conn.unread(rest)
            return result


async def finish_copy_out(conn: BackendConnection, emit: Callable[[bytes], None]) -> RelayResult:
    """A COPY TO STDOUT run by the extended protocol, after its CopyOutResponse (which
    `finish_extended` hands back in `extra`): CopyData and CopyDone relayed up to the
    CommandComplete or ErrorResponse; what follows (the cycle's ReadyForQuery) is put back."""
    result = RelayResult()
    while True:
        batch = await conn.recv_batch()
        for index, (kind, raw) in enumerate(batch):
            if kind == _ERROR:
                result.error = conn.error(codec.parse_error_fields(raw[5:]))
                conn.note_cycle_error()
            elif kind == _COMMAND_COMPLETE:
                emit(raw)
                result.tag = raw[5:-1].decode()
            else:
                emit(raw)  # CopyData, CopyDone, notices
                continue
            rest = batch[index + 1 :]
            if rest:
                conn.unread(rest)
            return result


def start_simple_prepared(conn: BackendConnection, text: str, types: tuple[int, ...],
                          values: list[str | None], instant: str | None = None) -> None:
    """A simple-protocol statement as its literal-free form, prepared once per connection:
    (Parse) + Bind + Describe portal + Execute + Sync; `finish_simple` relays the answer
    (`skip=1` after an `instant`, given first as `start_extended` gives it)."""
    if instant is not None:
        give_instant(conn, instant)
    key = (text, types)
    head = _SIMPLE_BIND_HEADS.get(key)
    if head is None:
        name = statement_name(text, types)
        if len(_SIMPLE_BIND_HEADS) > 4096:
            _SIMPLE_BIND_HEADS.clear()
        # (codec.build_bind's bytes up to its values: no portal, the name, no format code)
        head = _SIMPLE_BIND_HEADS[key] = (name, b"\0" + name.encode() + b"\0\0\0" + len(types).to_bytes(2, "big"))
    name, head_bytes = head
    parts = [head_bytes]
    for value in values:
        if value is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            data = value.encode()
            parts.append(len(data).to_bytes(4, "big"))
            parts.append(data)
    parts.append(b"\0\0")  # no result format code
    bind = b"".join(parts)
    message = b"".join((b"B", (len(bind) + 4).to_bytes(4, "big"), bind, _DESCRIBE_EXECUTE_SYNC))
    if conn.prepared.get(name) != text:
        prepare: list[bytes] = []
        _prepare(conn, prepare, name, text, codec.build_parse(name, text, types))
        prepare.append(message)
        message = b"".join(prepare)
    conn.send(message, 1)


# start_simple_prepared's (statement name, Bind head) by literal-free text and types
_SIMPLE_BIND_HEADS: dict[tuple[str, tuple[int, ...]], tuple[str, bytes]] = {}


_DESCRIBE_EXECUTE_SYNC = codec.build_describe("P", "") + codec.build_execute("", 0) + codec.SYNC
# ParseComplete, BindComplete, CloseComplete (a stale name closed first), NoData: not for a
# simple client
_EXTENDED_ACKS = (0x31, 0x32, 0x33, 0x6E)


def start_simple(conn: BackendConnection, sql: str, instant: str | None = None) -> None:
    """A simple Query; with `instant`, preceded in the same Query by the SET LOCAL that gives
    the statement's transaction its instant (`give_instant`): two statements in one Query
    are one implicit transaction block, where SET LOCAL holds until the statement has run.
    `finish_simple` then skips the SET's answer (`skip=1`)."""
    if instant is not None:
        sql = f"{xact_time.set_local(instant)}; {sql}"
    conn.send(codec.build_query(sql))


async def finish_simple(
    conn: BackendConnection, emit: Callable[[bytes], None], send_row_description: bool = True, skip: int = 0,
) -> RelayResult:
    """Relay a simple Query's answer until ReadyForQuery (which is not relayed); `skip`:
    the answers (up to their CommandComplete) of statements sent before the client's, not
    relayed (`start_simple`'s instant)."""
    result = RelayResult()
    while True:
        batch = await conn.recv_batch()
        for index, (kind, raw) in enumerate(batch):
            if skip and kind in (_COMMAND_COMPLETE, *_EXTENDED_ACKS):
                skip -= kind == _COMMAND_COMPLETE
                continue
            if kind == _DATA_ROW:
                emit(raw)
                result.rows += 1
            elif kind == _READY:
                conn.txn_status = raw[5:6]
                conn.cycle_parsed.clear()
                result.status = conn.txn_status
                return result
            elif kind == _ERROR:
                result.error = conn.error(codec.parse_error_fields(raw[5:]))
                conn.note_cycle_error()  # a Parse sent with the statement may be skipped
            elif kind in _EXTENDED_ACKS:
                result.parse_complete = result.parse_complete or kind == 0x31
            elif kind == _COMMAND_COMPLETE:
                result.tag = raw[5:-1].decode()
                emit(raw)
            elif kind == _ROW_DESCRIPTION:
                if send_row_description:
                    emit(conn.client_row_description(raw))
            elif kind == _COPY_IN:
                result.copy_in = True
                result.extra.append(raw)
                # what came with it is the next reader's: a server that fails the COPY
                # right after CopyInResponse (PostgreSQL's "cannot copy to view") sends its
                # ErrorResponse and ReadyForQuery at once; dropped, the session hung
                conn.unread(batch[index + 1:])
                return result
            else:
                emit(raw)
