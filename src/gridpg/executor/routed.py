"""The prepared fast path: a client's prepared statement that the router sends to one node.

A statement prepared by a client is classified and planned once per catalog snapshot and
session settings (`build_routed`). Each Execute then only reads the distribution
parameter, hashes it, picks the node, and sends the node the client's own Bind bytes with
the statement name spliced in (`bind_message`): no decoding and re-encoding of the other
parameters, no planner call, no request object. The node-side statement is prepared once
per backend connection under a name fixed at planning time. Reply bytes are relayed by
`relay.finish_extended` as on the general path.

Anything this path does not cover (a parameter that cannot be routed, a binary value of an
unknown type, a portal with a row limit) returns None/False, and the caller takes the
general path, which gives the same answer more slowly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import CatalogError
from gridpg.executor.relay import node_param_oids, statement_name
from gridpg.pgwire import codec
from gridpg.pgwire.binary import decode_binary_param
from gridpg.planner import router
from gridpg.planner.hashing import canonical_type_name, shard_for_nonneg_int, shard_for_text
from gridpg.planner.text import LITERALS
from gridpg.txn.transaction import is_insert

if TYPE_CHECKING:
    from gridpg.catalog.model import CatalogSnapshot, DistTable
    from gridpg.planner.core import Planner
    from gridpg.planner.router import RouterSpec


@dataclass(frozen=True, slots=True)
class Pin:
    """One value that pins a table: a literal (its group known at planning) or `$n`."""

    table: DistTable
    param: int  # 0-based parameter index, -1 for a literal
    group: str | None  # the literal's group (None: a parameter)
    decode_oid: int  # the parameter's type, for binary values (0: unknown)
    remainder: int = -1  # the literal's shard (HASH tables), for shard-write bookkeeping


@dataclass(frozen=True, slots=True)
class RoutedStatement:
    """What an Execute of a prepared statement needs to go straight to its node."""

    snapshot: CatalogSnapshot
    settings_generation: int
    sql: str
    name: str  # the statement's name on every backend connection
    parse: bytes  # its Parse message, sent once per backend connection
    bind_head: bytes  # unnamed portal + statement name, the start of the node's Bind
    writes: bool
    fixed_group: str | None
    pins: tuple[Pin, ...]
    allowed: frozenset[str] | None  # the groups holding every reference table, or None
    # One int4/int8 hash parameter pins the statement: (its index, the group of each
    # shard remainder): a value sent as plain digits is hashed here with no further call.
    int_pin: tuple[int, tuple[str, ...]] | None = None
    # The statement as a transaction block runs it when it reads the transaction's time:
    # its now(), CURRENT_TIMESTAMP, ... read the block's instant from the node's setting
    # (sql/xact_time.py `pin_to_setting`), a text fixed once, prepared once per connection
    # like this one. Outside a block the statement runs alone on its node, where the
    # node's own now() is the transaction's: this statement's own text. None: no time calls.
    block: RoutedStatement | None = None
    # The statement naming the pinned table's shard instead of the table (issue 11: the
    # datanode plans one plain table, not a partitioned parent), by shard remainder, and
    # the group of each shard; None: the table is named (executor/shard_route.py says when).
    shards: tuple[RoutedStatement, ...] | None = None
    shard_groups: tuple[str, ...] = ()
    client_sql: str = ""  # a shard's form: the client's statement (what a shard hold reads)
    # A write that may lock rows already there (not a plain INSERT: txn is_insert), read
    # once per plan for the transaction's 2PC decider (`mark_written`).
    locks_rows: bool = True

    @property
    def statement(self) -> str:
        """The client's statement (not the node's text of a shard's form)."""
        return self.client_sql or self.sql

    def for_block(self, in_block: bool) -> RoutedStatement:
        """The form to send: `block` inside a transaction block, else this one."""
        return self.block if in_block and self.block is not None else self

    def target(self, planner: Planner, params: list[bytes | None], formats: list[int],
               written: set[tuple[int, int]] | None = None) -> tuple[str, RoutedStatement] | None:
        """The group the bound values pin the statement to and the form to send there (its
        shard's, when it has them), or None (general path); `written` as in group_for."""
        shards = self.shards
        if shards is not None:
            int_pin = self.int_pin
            raw = params[int_pin[0]] if int_pin is not None and int_pin[0] < len(params) else None
            if raw is not None and 0 < len(raw) < 10 and raw.isdigit() and formats in _TEXT_FORMATS:
                # the usual Execute (pgbench's): one int key as 1-9 text digits, [0, 2**31)
                remainder = shard_for_nonneg_int(int(raw), len(shards))
                group = self.shard_groups[remainder]
                if self.allowed is not None and group not in self.allowed:
                    return None
                if written is not None:
                    self._note_int_write(remainder, written)
                return group, shards[remainder]
            remainder = self._bound_remainder(params, formats)
            if remainder >= 0:
                return self._shard_target(shards, remainder, written)
        group = self.group_for(planner, params, formats, written)
        return None if group is None else (group, self)

    def target_for_literals(self, planner: Planner, literals: list[str | None],
                            written: set[tuple[int, int]] | None = None) -> tuple[str, RoutedStatement] | None:
        """`target` for a simple-protocol statement whose literals became $n."""
        shards = self.shards
        if shards is not None:
            pin = self.pins[0]
            remainder = pin.remainder if pin.param < 0 else \
                self._text_remainder(literals[pin.param]) if pin.param < len(literals) else -1
            if remainder >= 0:
                return self._shard_target(shards, remainder, written)
        group = self.group_for_literals(planner, literals, written)
        return None if group is None else (group, self)

    def _shard_target(self, shards: tuple[RoutedStatement, ...], remainder: int,
                      written: set[tuple[int, int]] | None) -> tuple[str, RoutedStatement] | None:
        group = self.shard_groups[remainder]
        if self.allowed is not None and group not in self.allowed:
            return None
        self._note_int_write(remainder, written)
        return group, shards[remainder]

    def _bound_remainder(self, params: list[bytes | None], formats: list[int]) -> int:
        """The shard of the one pinning value (-1: NULL, not readable: the general path)."""
        pin = self.pins[0]
        index = pin.param
        if index < 0:
            return pin.remainder
        raw = params[index] if index < len(params) else None
        if raw is None:
            return -1
        fmt = formats[index] if len(formats) > 1 else (formats[0] if formats else 0)
        if not fmt and 0 < len(raw) < 10 and raw.isdigit() and self.int_pin is not None:
            return shard_for_nonneg_int(int(raw), len(self.shard_groups))
        try:
            text = raw.decode() if not fmt else decode_binary_param(pin.decode_oid, raw)
        except UnicodeDecodeError:
            return -1
        return self._text_remainder(text)

    def _text_remainder(self, text: str | None) -> int:
        if text is None:
            return -1
        if self.int_pin is not None and 0 < len(text) < 10 and text.isascii() and text.isdigit():
            return shard_for_nonneg_int(int(text), len(self.shard_groups))
        table = self.pins[0].table
        try:
            return shard_for_text(table.column_type or "", text, len(self.shard_groups))
        except (ValueError, TypeError, OverflowError):
            return -1

    def group_for(self, planner: Planner, params: list[bytes | None],
                  formats: list[int], written: set[tuple[int, int]] | None = None) -> str | None:
        """The one group the bound values pin the statement to, or None (general path).
        `written` (a write inside a transaction block) collects the (colocation, shard)
        pairs it writes: an online move's switch waits for transactions that wrote its
        shards (executor/shard_hold.py)."""
        if self.fixed_group is not None:
            return self.fixed_group
        int_pin = self.int_pin
        if int_pin is not None:
            index, groups = int_pin
            raw = params[index] if index < len(params) else None
            # text format, 1-9 ASCII digits: in [0, 2**31) whatever the column's width
            if raw is not None and 0 < len(raw) < 10 and raw.isdigit() \
                    and not (formats[index] if len(formats) > 1 else (formats[0] if formats else 0)):
                remainder = shard_for_nonneg_int(int(raw), len(groups))
                group = groups[remainder]
                if self.allowed is not None and group not in self.allowed:
                    return None
                self._note_int_write(remainder, written)
                return group
        if written is not None:
            return self._agreed(self._literal_group(pin, written) if pin.param < 0
                                else self._param_group(planner, pin, params, formats, written)
                                for pin in self.pins)
        return self._agreed(pin.group if pin.param < 0 else self._param_group(planner, pin, params, formats)
                            for pin in self.pins)

    def group_for_literals(self, planner: Planner, literals: list[str | None],
                           written: set[tuple[int, int]] | None = None) -> str | None:
        """Like group_for, for a simple-protocol statement whose literals became $n."""
        if self.fixed_group is not None:
            return self.fixed_group
        int_pin = self.int_pin
        if int_pin is not None and int_pin[0] < len(literals):
            index, groups = int_pin
            text = literals[index]
            if text is not None and 0 < len(text) < 10 and text.isascii() and text.isdigit():
                remainder = shard_for_nonneg_int(int(text), len(groups))
                group = groups[remainder]
                if self.allowed is not None and group not in self.allowed:
                    return None
                self._note_int_write(remainder, written)
                return group
        return self._agreed(
            (pin.group if written is None else self._literal_group(pin, written)) if pin.param < 0
            else self._text_group(planner, pin.table, literals[pin.param], written)
            if pin.param < len(literals) else None
            for pin in self.pins)

    def _note_int_write(self, remainder: int, written: set[tuple[int, int]] | None) -> None:
        """The int pin's shard among a block's writes, as `_text_group` notes it."""
        colocation = self.pins[0].table.colocation_id
        if written is not None and colocation is not None:
            written.add((colocation, remainder))

    @staticmethod
    def _literal_group(pin: Pin, written: set[tuple[int, int]]) -> str | None:
        if pin.table.colocation_id is not None:
            written.add((pin.table.colocation_id, pin.remainder))
        return pin.group

    def _text_group(self, planner: Planner, table: DistTable, text: str | None,
                    written: set[tuple[int, int]] | None) -> str | None:
        """The group of one value; with `written`, its shard is noted (-1: not known)."""
        if written is None or table.colocation_id is None:
            return planner.group_for_value(table, text, self.snapshot)
        if table.method != "hash":
            written.add((table.colocation_id, -1))
            return planner.group_for_value(table, text, self.snapshot)
        try:
            remainder = shard_for_text(table.column_type or "", text, table.shard_count or 1)
        except (ValueError, TypeError, OverflowError):
            return None
        written.add((table.colocation_id, remainder))
        try:
            return self.snapshot.shard_group(table.schema, table.name, remainder)
        except CatalogError:
            return None

    def _agreed(self, groups: Iterable[str | None]) -> str | None:
        """The group every pin names (evaluated lazily, stopping at the first that differs or
        is unknown), if the reference tables are there too; else None."""
        found: str | None = None
        for group in groups:
            if group is None or (found is not None and group != found):
                return None
            found = group
        if found is None or (self.allowed is not None and found not in self.allowed):
            return None
        return found

    def _param_group(self, planner: Planner, pin: Pin, params: list[bytes | None],
                     formats: list[int], written: set[tuple[int, int]] | None = None) -> str | None:
        index = pin.param
        if index >= len(params):
            return None
        raw = params[index]
        text: str | None
        if raw is None:
            text = None
        else:
            fmt = formats[index] if len(formats) > 1 else (formats[0] if formats else 0)
            if fmt == 0:
                text = raw.decode()
            else:
                text = decode_binary_param(pin.decode_oid, raw)
                if text is None:
                    return None
        if written is not None:
            return self._text_group(planner, pin.table, text, written)
        return planner.group_for_value(pin.table, text, self.snapshot)

    def bind_message(self, bind_tail: bytes) -> bytes:
        """The node's Bind: the client's formats, values and result formats unchanged."""
        head = self.bind_head
        return b"B" + (4 + len(head) + len(bind_tail)).to_bytes(4, "big") + head + bind_tail


# A Bind's parameter formats that make every value text (no format codes, or one: 0).
_TEXT_FORMATS = ([], [0])


def build_routed(
    spec: RouterSpec, sql: str, param_oids: list[int], described: list[int] | None,
    snapshot: CatalogSnapshot, settings_generation: int, planner: Planner,
    block_sql: str | None = None, shard_texts: ShardTexts | None = None,
) -> RoutedStatement | None:
    """The fast-path form of a router statement, or None when it has none; `block_sql`:
    its text inside a transaction block, when that differs (`RoutedStatement.block`);
    `shard_texts`: its text naming the pinned table's shard, and `block_sql`'s, by remainder
    (`RoutedStatement.shards`), where the caller found the shard route gives the table's answer."""
    pins: list[Pin] = []
    for table, values in spec.pins:
        if table.method not in ("hash", "modulo"):
            return None
        for value in values:
            if value.param:
                index = value.param - 1
                oids = described or param_oids
                if not value.param_type_keeps_value(oids, table.column_type or ""):
                    return None  # compared as its own type converted: the general path decides
                pins.append(Pin(table, index, None, oids[index] if index < len(oids) else 0))
            else:
                group = planner.group_for_value(table, value.text, snapshot)
                if group is None:
                    return None
                pins.append(Pin(table, -1, group, 0, _literal_shard(table, value.text)))
    if spec.fixed_group is None and not pins:
        return None
    allowed: frozenset[str] | None = None
    for table in spec.references:
        groups = frozenset(table.groups)
        allowed = groups if allowed is None else allowed & groups
    for table in spec.locked_references:  # (router.RouterSpec: locked on their first node only)
        groups = frozenset((router.lock_node(table),))
        allowed = groups if allowed is None else allowed & groups
    route = RoutedStatement(
        snapshot=snapshot, settings_generation=settings_generation, sql=sql, writes=spec.writes,
        fixed_group=spec.fixed_group, pins=tuple(pins), allowed=allowed,
        int_pin=_int_pin(pins, snapshot) if spec.fixed_group is None else None,
        **_node_statement(sql, param_oids),
    )
    if block_sql is not None and block_sql != sql:
        route = replace(route, block=replace(route, sql=block_sql, **_node_statement(block_sql, param_oids)))
    return _with_shards(route, shard_texts, snapshot, param_oids)


# (texts by remainder, block texts by remainder or None): see build_routed
ShardTexts = tuple[tuple[str, ...], tuple[str, ...] | None]


def _with_shards(route: RoutedStatement, texts: ShardTexts | None, snapshot: CatalogSnapshot,
                 param_oids: list[int]) -> RoutedStatement:
    """`route` with its shard forms, when it has exactly one pin, on the table they name."""
    if texts is None or route.fixed_group is not None or len(route.pins) != 1:
        return route
    table = route.pins[0].table
    plain, in_block = texts
    if table.method != "hash" or len(plain) != table.shard_count:
        return route
    try:
        groups = tuple(snapshot.shard_group(table.schema, table.name, r) for r in range(len(plain)))
    except CatalogError:
        return route
    if (route.block is None) != (in_block is None):
        return route
    forms = []
    for remainder, text in enumerate(plain):
        form = replace(route, sql=text, block=None, client_sql=route.sql, **_node_statement(text, param_oids))
        if route.block is not None and in_block is not None:
            block_text = in_block[remainder]
            form = replace(form, block=replace(form, sql=block_text, **_node_statement(block_text, param_oids)))
        forms.append(form)
    return replace(route, shards=tuple(forms), shard_groups=groups)


def _node_statement(sql: str, param_oids: list[int]) -> dict[str, Any]:
    """The node-side statement's name, Parse message and Bind head for `sql`."""
    name = statement_name(sql, param_oids)
    return {"name": name, "parse": codec.build_parse(name, sql, node_param_oids(param_oids)),
            "bind_head": b"\0" + codec.cstr(name), "locks_rows": not is_insert(sql)}


def _int_pin(pins: list[Pin], snapshot: CatalogSnapshot) -> tuple[int, tuple[str, ...]] | None:
    """RoutedStatement.int_pin when one parameter of an int4/int8 hash column is the only
    pin and every shard's group is known; else None (the general hashing path)."""
    if len(pins) != 1 or pins[0].param < 0:
        return None
    table = pins[0].table
    if table.method != "hash" or not table.shard_count or \
            canonical_type_name(table.column_type or "") not in ("int4", "int8"):
        return None
    try:
        groups = tuple(snapshot.shard_group(table.schema, table.name, r) for r in range(table.shard_count))
    except CatalogError:  # a table without its shards in this snapshot
        return None
    return pins[0].param, groups


def _literal_shard(table: DistTable, text: str | None) -> int:
    if table.method != "hash":
        return -1
    try:
        return shard_for_text(table.column_type or "", text, table.shard_count or 1)
    except (ValueError, TypeError, OverflowError):
        return -1


def bind_tail(payload: bytes) -> bytes:
    """A client Bind's bytes after its portal and statement names (formats onwards)."""
    return payload[payload.index(b"\0", payload.index(b"\0") + 1) + 1:]


NOT_ROUTED: Any = object()  # a statement classified once as "general path only"


# The simple protocol's statements run on their node as prepared statements too: the
# literal-free text is prepared once per backend connection (a generic plan: no planning
# per statement on a partitioned shard parent) and bound with the literals. Only where a
# parameter means what the literal meant: each parameter is declared with the literal's
# own type (a quoted literal: unknown, resolved by context as the literal is; a number:
# int4, int8 or numeric as PostgreSQL types it), and never after ORDER BY or GROUP BY, where
# a number is a column position and a parameter would be a constant.
_POSITIONAL = re.compile(r"\b(order|group)\s+by\b", re.IGNORECASE)
INT4, INT8, NUMERIC = 23, 20, 1700


def literal_types(sql: str, text: str) -> tuple[int, ...] | None:
    """Parameter types that keep the meaning of `sql`'s literals in its literal-free form
    `text`; None when the statement must keep its literals."""
    if _POSITIONAL.search(text) or folds_constants(text):
        return None
    types = []
    for match in LITERALS.finditer(sql):
        literal = match.group()
        if literal.startswith('"'):
            continue  # a quoted name
        if literal.startswith("'"):
            types.append(0)
        elif "." in literal:
            types.append(NUMERIC)
        else:
            value = int(literal)
            types.append(INT4 if value <= 0x7FFFFFFF else INT8 if value <= 0x7FFFFFFFFFFFFFFF else NUMERIC)
    return tuple(types)


@lru_cache(maxsize=4096)
def folds_constants(text: str) -> bool:
    """Whether a literal-free form computes with its parameters alone (`SELECT 1/0 FROM t
    WHERE id = 7`, `WHERE d > '2024-01-01'::date - 7`, `sqrt(-1)`): PostgreSQL folds such an
    expression of literals when it plans, so its error (division by zero) comes even when
    no row qualifies; a parameter of a generic plan is computed per row, and with no row
    there was none (0 rows where PostgreSQL fails). Such a statement keeps its literals."""
    from gridpg.errors import PgError
    from gridpg.sql import parse as sqlparse

    try:
        tree = sqlparse.parse_tree(text)
    except PgError:
        return True
    return _computes_with_constants(tree)


def _computes_with_constants(node: Any) -> bool:
    if isinstance(node, list):
        return any(_computes_with_constants(item) for item in node)
    if not isinstance(node, dict):
        return False
    expr = node.get("A_Expr")
    if isinstance(expr, dict) and expr.get("lexpr") is not None and expr.get("rexpr") is not None \
            and not isinstance(expr.get("rexpr"), list) and _constant(expr["lexpr"]) and _constant(expr["rexpr"]) \
            and (_has_param(expr["lexpr"]) or _has_param(expr["rexpr"])):
        return True
    call = node.get("FuncCall")
    if isinstance(call, dict) and call.get("args") and all(_constant(a) for a in call["args"]) \
            and any(_has_param(a) for a in call["args"]):
        return True
    return any(_computes_with_constants(value) for value in node.values() if isinstance(value, (dict, list)))


def _constant(node: Any) -> bool:
    """A parameter, a constant, or a cast of one (what PostgreSQL's planner sees as constant
    once the literal is back)."""
    if not isinstance(node, dict):
        return False
    if "ParamRef" in node or "A_Const" in node:
        return True
    cast = node.get("TypeCast")
    if isinstance(cast, dict):
        return _constant(cast.get("arg"))
    sign = node.get("A_Expr")  # -1 (a sign before a literal)
    return isinstance(sign, dict) and sign.get("lexpr") is None and _constant(sign.get("rexpr"))


def _has_param(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    return "ParamRef" in node or _has_param((node.get("TypeCast") or {}).get("arg")) \
        or _has_param((node.get("A_Expr") or {}).get("rexpr"))


# Literal-free forms that prepared on a node (True) or failed to (False): a form is tried
# only outside a transaction block, where a failed Parse rolls back nothing but itself.
PREPARABLE: dict[tuple[str, tuple[int, ...]], bool] = {}


def note_preparable(form: tuple[str, tuple[int, ...]], ok: bool) -> None:
    if len(PREPARABLE) > 10000:
        PREPARABLE.clear()
    PREPARABLE[form] = ok
