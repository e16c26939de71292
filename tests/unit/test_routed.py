"""The prepared fast path's pure parts: Bind splicing and routing by bound values."""

from __future__ import annotations

from typing import Any

from gridpg.executor.routed import Pin, RoutedStatement, bind_tail
from gridpg.pgwire import codec


class _Planner:
    """Stands in for Planner.group_for_value: even values on dn1, odd on dn2."""

    def group_for_value(self, table: Any, text: str | None, snapshot: Any = None) -> str | None:
        if text is None:
            return "dn1"
        return "dn1" if int(text) % 2 == 0 else "dn2"


def _route(pins: tuple[Pin, ...], fixed: str | None = None,
           allowed: frozenset[str] | None = None) -> RoutedStatement:
    return RoutedStatement(
        snapshot=object(), settings_generation=0, sql="SELECT 1", name="gp_x",
        parse=b"", bind_head=b"\0" + codec.cstr("gp_x"), writes=False, fixed_group=fixed,
        pins=pins, allowed=allowed,
    )


def test_bind_is_spliced_not_reencoded() -> None:
    client = codec.build_bind("p1", "client_stmt", [1, 0], [b"\x00\x00\x00\x07", None], [1])
    tail = bind_tail(client[5:])
    node = _route(()).bind_message(tail)
    assert node == codec.build_bind("", "gp_x", [1, 0], [b"\x00\x00\x00\x07", None], [1])


def test_bind_tail_with_empty_names() -> None:
    client = codec.build_bind("", "", [], [b"42"], [])
    assert _route(()).bind_message(bind_tail(client[5:])) == codec.build_bind("", "gp_x", [], [b"42"], [])


def test_group_for_text_binary_and_null_values() -> None:
    route = _route((Pin(None, 0, None, 23),))  # type: ignore[arg-type]
    planner = _Planner()
    assert route.group_for(planner, [b"4"], []) == "dn1"  # type: ignore[arg-type]
    assert route.group_for(planner, [b"5"], [0]) == "dn2"  # type: ignore[arg-type]
    assert route.group_for(planner, [(5).to_bytes(4, "big")], [1]) == "dn2"  # type: ignore[arg-type]
    assert route.group_for(planner, [None], [0]) == "dn1"  # type: ignore[arg-type]
    assert route.group_for(planner, [], []) is None  # type: ignore[arg-type]


def test_binary_value_of_unknown_type_takes_the_general_path() -> None:
    route = _route((Pin(None, 0, None, 0),))  # type: ignore[arg-type]
    assert route.group_for(_Planner(), [b"\x00\x01"], [1]) is None  # type: ignore[arg-type]


def test_values_on_two_nodes_or_off_the_reference_tables_are_not_routed() -> None:
    planner = _Planner()
    two = _route((Pin(None, 0, None, 23), Pin(None, 1, None, 23)))  # type: ignore[arg-type]
    assert two.group_for(planner, [b"2", b"4"], []) == "dn1"  # type: ignore[arg-type]
    assert two.group_for(planner, [b"2", b"3"], []) is None  # type: ignore[arg-type]
    literal = _route((Pin(None, -1, "dn2", 0), Pin(None, 0, None, 23)))  # type: ignore[arg-type]
    assert literal.group_for(planner, [b"3"], []) == "dn2"  # type: ignore[arg-type]
    assert literal.group_for(planner, [b"2"], []) is None  # type: ignore[arg-type]
    only_dn1 = _route((Pin(None, 0, None, 23),), allowed=frozenset({"dn1"}))  # type: ignore[arg-type]
    assert only_dn1.group_for(planner, [b"3"], []) is None  # type: ignore[arg-type]
    assert _route((), fixed="dn2").group_for(planner, [], []) == "dn2"  # type: ignore[arg-type]


class _Table:
    """The parts of a DistTable the router reads."""

    def __init__(self, column_type: str, shard_count: int = 12) -> None:
        self.schema, self.name, self.method = "public", "t", "hash"
        self.column_type, self.shard_count = column_type, shard_count
        self.groups = ["dn1", "dn2", "dn3"]
        self.colocation_id = 4


class _Snapshot:
    def shard_group(self, schema: str, table: str, remainder: int) -> str:
        return f"dn{remainder % 3 + 1}"


class _RealPlanner:
    def group_for_value(self, table: Any, text: str | None, snapshot: Any) -> str | None:
        from gridpg.planner.router import group_for_value

        return group_for_value(table, text, snapshot)


def test_an_int_pin_routes_as_the_general_hashing_path() -> None:
    """RoutedStatement.int_pin (digits hashed in place) names the group the general path
    (router.group_for_value over PostgreSQL's hash) does; other spellings take that path."""
    from gridpg.executor.routed import _int_pin

    snapshot, planner = _Snapshot(), _RealPlanner()
    for column_type in ("integer", "bigint", "int8"):
        pins = (Pin(_Table(column_type), 0, None, 23),)  # type: ignore[arg-type]
        int_pin = _int_pin(list(pins), snapshot)  # type: ignore[arg-type]
        assert int_pin is not None and len(int_pin[1]) == 12
        fast = RoutedStatement(
            snapshot=snapshot, settings_generation=0, sql="SELECT 1", name="gp_x",  # type: ignore[arg-type]
            parse=b"", bind_head=b"", writes=False, fixed_group=None, pins=pins, allowed=None,
            int_pin=int_pin)
        general = _route(pins)
        object.__setattr__(general, "snapshot", snapshot)
        values = ["٣".encode(), b"0", b"1", b"7", b"0042", b"99999", b"100000", b"999999999", b"1000000000",
                  b"2147483647", b"-5", b" 5", b"+5", b"5a", None]
        for raw in values:
            for formats in ([], [0]):
                expected = general.group_for(planner, [raw], formats)  # type: ignore[arg-type]
                assert fast.group_for(planner, [raw], formats) == expected, (column_type, raw)  # type: ignore[arg-type]
            literal = None if raw is None else raw.decode()
            assert fast.group_for_literals(planner, [literal]) == \
                general.group_for_literals(planner, [literal]), (column_type, raw)  # type: ignore[arg-type]
            # a write in a block notes the same shard either way (an online move waits for it)
            fast_written: set[tuple[int, int]] = set()
            general_written: set[tuple[int, int]] = set()
            assert fast.group_for(planner, [raw], [], fast_written) == \
                general.group_for(planner, [raw], [], general_written)  # type: ignore[arg-type]
            assert fast_written == general_written, (column_type, raw)
            fast_written.clear()
            general_written.clear()
            assert fast.group_for_literals(planner, [literal], fast_written) == \
                general.group_for_literals(planner, [literal], general_written)  # type: ignore[arg-type]
            assert fast_written == general_written, (column_type, raw)
        binary = (7).to_bytes(8 if column_type != "integer" else 4, "big")
        fast_binary = fast.group_for(planner, [binary], [1])  # type: ignore[arg-type]
        assert fast_binary == general.group_for(planner, [binary], [1])  # type: ignore[arg-type]
    assert _int_pin([Pin(_Table("smallint"), 0, None, 21)], snapshot) is None  # type: ignore[arg-type, list-item]
    assert _int_pin([Pin(_Table("text"), 0, None, 25)], snapshot) is None  # type: ignore[arg-type, list-item]
    two = [Pin(_Table("int4"), 0, None, 23), Pin(_Table("int4"), 1, None, 23)]
    assert _int_pin(two, snapshot) is None  # type: ignore[arg-type]


def test_a_shard_form_goes_to_the_shard_of_the_value() -> None:
    """RoutedStatement.target sends a statement with shard forms to the group the general
    path names, as the form of the value's shard (PostgreSQL's partition hash); a NULL or
    an unreadable value takes the table's form (or the general path), as before."""
    from gridpg.executor.routed import _int_pin, _with_shards
    from gridpg.planner.hashing import shard_for_text

    snapshot, planner = _Snapshot(), _RealPlanner()
    for column_type, oid in (("integer", 23), ("bigint", 20), ("text", 25)):
        pins = (Pin(_Table(column_type), 0, None, oid),)  # type: ignore[arg-type]
        base = RoutedStatement(
            snapshot=snapshot, settings_generation=0, sql="SELECT 1 FROM t WHERE k = $1", name="gp_x",  # type: ignore[arg-type]
            parse=b"", bind_head=b"", writes=True, fixed_group=None, pins=pins, allowed=None,
            int_pin=_int_pin(list(pins), snapshot))  # type: ignore[arg-type]
        texts = tuple(f"SELECT 1 FROM shard_{r} AS t WHERE k = $1" for r in range(12))
        route = _with_shards(base, (texts, None), snapshot, [oid])  # type: ignore[arg-type]
        assert route.shards is not None and route.shards[3].sql == texts[3]
        assert route.shards[3].statement == base.sql and route.shards[3].name != base.name
        general = _route(pins)
        object.__setattr__(general, "snapshot", snapshot)
        raws = [b"0", b"7", b"0042", b"123456789", b"2147483647", b"-5", b"+5", "٣".encode(), None]
        if column_type == "text":
            raws += [b"abc", "é".encode(), b"5a"]
        for raw in raws:
            written: set[tuple[int, int]] = set()
            general_written: set[tuple[int, int]] = set()
            target = route.target(planner, [raw], [], written)  # type: ignore[arg-type]
            expected = general.group_for(planner, [raw], [], general_written)  # type: ignore[arg-type]
            assert (target[0] if target else None) == expected, (column_type, raw)
            assert written == general_written, (column_type, raw)
            if target is None:
                continue
            try:
                remainder = -1 if raw is None else shard_for_text(column_type, raw.decode(), 12)
            except (ValueError, TypeError, OverflowError):
                remainder = -1
            assert target[1] is (route if remainder < 0 else route.shards[remainder]), (column_type, raw)
            literal = None if raw is None else raw.decode()
            by_literal = route.target_for_literals(planner, [literal])  # type: ignore[arg-type]
            assert by_literal is not None and by_literal[1] is target[1], (column_type, raw)
    no_shards = _with_shards(base, (texts[:5], None), snapshot, [25])  # type: ignore[arg-type]
    assert no_shards.shards is None  # texts for another shard count: the table's form only


def test_node_statement_says_once_whether_it_locks_rows() -> None:
    """Read once per plan (not per Execute) for the 2PC decider: a plain INSERT locks no
    row already there; an upsert, an UPDATE or a DELETE may."""
    from gridpg.executor.routed import _node_statement

    assert _node_statement("INSERT INTO t VALUES ($1)", [23])["locks_rows"] is False
    assert _node_statement("  insert into t values ($1) ON CONFLICT (k) DO NOTHING", [23])["locks_rows"] is True
    assert _node_statement("UPDATE t SET v = v + $1 WHERE k = $2", [23, 23])["locks_rows"] is True
    assert _node_statement("SELECT v FROM t WHERE k = $1", [23])["locks_rows"] is True
