"""planner/router.static: what pins a statement to one node, read from its parse tree
(pure; no server)."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze, router
from gridpg.planner.plan import NotApplicable, Strategy
from gridpg.planner.pushdown import Resolved
from gridpg.sql import parse as sqlparse

REF = DistTable("public", "ref", "replication", None, None, None, None, ("dn1", "dn2"))


def _static(sql: str, tables: dict[str, DistTable]) -> router.RouterSpec | NotApplicable:
    tree = sqlparse.parse_tree(sql)
    resolved = [Resolved(r, tables.get(r.name)) for r in analyze.relations(tree)]
    return router.static(tree[sqlparse.node_type(tree)], resolved, False)


def test_a_statement_without_tables_is_not_routed_and_does_not_fail() -> None:
    # what EXPLAIN plans after `SELECT (SELECT count(*) FROM dist) c` ran its subplan:
    # the value is in place and no table is left (it raised IndexError, ending the session)
    for sql in ("SELECT 12000 AS c", "SELECT x FROM (VALUES (1)) v(x) WHERE x < 5", "SELECT * FROM local_only"):
        got = _static(sql, {})
        assert isinstance(got, NotApplicable)
        assert got.strategy is Strategy.ROUTER


def test_reference_tables_still_route_to_a_common_node() -> None:
    got = _static("SELECT * FROM ref WHERE a = 1", {"ref": REF})
    assert isinstance(got, router.RouterSpec) and got.fixed_group == "dn1"


TEXT_KEYED = DistTable("public", "t", "hash", "k", "text", 1, 32, ("dn1", "dn2"))


def test_a_cast_that_may_change_the_value_pins_nothing() -> None:
    # `k = 'a  '::bpchar` compares k with 'a' (bpchar to text drops trailing blanks):
    # hashing 'a  ' as text would send the statement to another shard than the row's
    for sql in ("SELECT * FROM t WHERE k = 'a  '::bpchar", "SELECT * FROM t WHERE k = 'abcdef'::varchar(3)",
                "SELECT * FROM t WHERE k = $1::char(4)", "SELECT * FROM t WHERE k = 'ab'::\"char\"",
                "SELECT * FROM t WHERE k = 'x'::public.mytext", "SELECT * FROM t WHERE k IN ('a', 'b  '::bpchar)"):
        assert isinstance(_static(sql, {"t": TEXT_KEYED}), NotApplicable), sql
    for sql in ("SELECT * FROM t WHERE k = 'a'", "SELECT * FROM t WHERE k = 'a'::text",
                "SELECT * FROM t WHERE k = 'a'::varchar", "SELECT * FROM t WHERE k = $1::text",
                "SELECT * FROM t WHERE k = CAST('a' AS character varying)"):
        assert isinstance(_static(sql, {"t": TEXT_KEYED}), router.RouterSpec), sql


def test_which_casts_keep_the_value_for_the_column_type() -> None:
    def keeps(cast_sql: str, column_type: str) -> bool:
        tree = sqlparse.parse_tree(f"SELECT * FROM t WHERE k = {cast_sql}")
        (values,) = analyze.pinning_values(tree["SelectStmt"]["whereClause"], lambda col: col[-1]).values()
        return values[0].cast_keeps_value(column_type)

    assert keeps("1::int8", "integer") and keeps("1::smallint", "bigint") and keeps("$1::bigint", "int8")
    assert keeps("'a'::text", "character varying(20)") and keeps("'1.5'::numeric", "numeric(10,2)")
    assert not keeps("1.5::int", "numeric")  # rounds to 2
    assert not keeps("'2020-01-01 10:00'::date", "timestamp without time zone")  # drops the time
    assert not keeps("'2020-01-01 10:00+05'::timestamp", "timestamp with time zone")
    assert not keeps("2.45::numeric(3,1)", "numeric")  # rounds to 2.5
    assert not keeps("'a  '::bpchar", "text") and not keeps("'a'::text", "character(3)")


def test_a_parameter_of_another_type_is_compared_converted() -> None:
    assert analyze.param_keeps_value(0, "text") and analyze.param_keeps_value(705, "timestamp")
    assert analyze.param_keeps_value(23, "bigint") and analyze.param_keeps_value(1043, "text")
    assert not analyze.param_keeps_value(1042, "text")  # bpchar: trailing blanks dropped
    assert not analyze.param_keeps_value(1184, "timestamp without time zone")
    assert not analyze.param_keeps_value(1700, "integer")
    assert not analyze.param_keeps_value(123456, "text")  # a type of the user's: unknown here


def _hash_table(column_type: str) -> DistTable:
    return DistTable("public", "t", "hash", "k", column_type, 1, 32, ("dn1", "dn2"))


def test_a_constant_cast_to_another_type_does_not_pin() -> None:
    # PostgreSQL compares with the converted value: 'abc '::char(4) is 'abc' against a text
    # column, a timestamptz is shifted by the session's zone against a timestamp column,
    # 2.6::int is 3; hashing the text as written picked another shard (0 rows, silently)
    cases = [
        ("text", "SELECT * FROM t WHERE k = 'abc '::char(4)"),
        ("text", "SELECT * FROM t WHERE k = 'abc  '::bpchar"),
        ("varchar(10)", "UPDATE t SET v = 1 WHERE k = 'abcdef'::varchar(3)"),
        ("timestamp without time zone", "SELECT * FROM t WHERE k = '2024-01-01 10:00+05'::timestamptz"),
        ("timestamp without time zone", "SELECT * FROM t WHERE k = $1::timestamptz"),
        ("numeric", "DELETE FROM t WHERE k = 2.6::int"),
        ("numeric", "SELECT * FROM t WHERE k = 1.55::numeric(3,1)"),
        ("interval", "SELECT * FROM t WHERE k = '1 day 3 hours'::interval hour"),
        ("integer", "SELECT * FROM t WHERE k IN (1, '2'::posint)"),
    ]
    for column_type, sql in cases:
        got = _static(sql, {"t": _hash_table(column_type)})
        assert isinstance(got, NotApplicable), (column_type, sql)


def test_a_constant_cast_to_the_column_s_own_type_still_pins() -> None:
    cases = [
        ("integer", "SELECT * FROM t WHERE k = '3'::int"),
        ("bigint", "SELECT * FROM t WHERE k = $1::int4"),
        ("text", "SELECT * FROM t WHERE k = 'abc'::varchar"),
        ("character varying(20)", "SELECT * FROM t WHERE k = $1::text"),
        ("timestamp with time zone", "SELECT * FROM t WHERE k = $1::timestamptz"),
        ("uuid", "SELECT * FROM t WHERE k IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid)"),
        ("character(5)", "SELECT * FROM t WHERE k = 'ab'::bpchar"),
    ]
    for column_type, sql in cases:
        got = _static(sql, {"t": _hash_table(column_type)})
        assert isinstance(got, router.RouterSpec) and len(got.pins) == 1, (column_type, sql)


def test_an_update_setting_a_column_to_its_default_is_not_routed() -> None:
    # a time default is pinned before planning (executor/update_defaults.py); the routed
    # fast paths, planned once per text, would send DEFAULT to the node as written
    table = DistTable("public", "t", "hash", "k", "integer", 1, 32, ("dn1", "dn2"))
    got = _static("UPDATE t SET at = DEFAULT WHERE k = 3", {"t": table})
    assert isinstance(got, NotApplicable)
    got = _static("UPDATE t SET (n, at) = (1, DEFAULT) WHERE k = 3", {"t": table})
    assert isinstance(got, NotApplicable)
    got = _static("UPDATE t SET at = now() WHERE k = 3", {"t": table})
    assert isinstance(got, router.RouterSpec)


INT_A = DistTable("public", "a", "hash", "id", "integer", 1, 32, ("dn1", "dn2"))
INT_B = DistTable("public", "b", "hash", "id", "integer", 1, 32, ("dn1", "dn2"))
BIG_C = DistTable("public", "c", "hash", "id", "bigint", 2, 32, ("dn1", "dn2"))


def _pinned_tables(sql: str) -> list[str] | None:
    got = _static(sql, {"a": INT_A, "b": INT_B, "c": BIG_C})
    return None if isinstance(got, NotApplicable) else sorted(t.name for t, _ in got.pins)


def test_a_join_on_the_distribution_columns_pins_the_other_table() -> None:
    # multi_select_for_update.sql:38 (Citus, h-citus14): a self-join pinned on one side
    # went to every node, where FOR UPDATE with ORDER BY was refused (0A000)
    for sql in ("SELECT * FROM a x JOIN a y ON x.id = y.id WHERE x.id = 1",
                "SELECT * FROM a, b WHERE b.id = a.id AND a.id = 1",
                "SELECT * FROM a LEFT JOIN b ON a.id = b.id WHERE a.id IN (1, 2)",
                "SELECT * FROM a JOIN b USING (id) WHERE a.id = $1",
                "SELECT * FROM b RIGHT JOIN (a JOIN a z ON z.id = a.id) ON b.id = z.id WHERE a.id = 3"):
        assert _pinned_tables(sql) is not None, sql


def test_only_equalities_of_the_distribution_columns_of_one_type_pin() -> None:
    for sql in ("SELECT * FROM a JOIN b ON a.id = b.v WHERE a.id = 1",
                "SELECT * FROM a JOIN b ON a.id = b.id OR a.v = b.v WHERE a.id = 1",
                "SELECT * FROM a JOIN b ON a.id < b.id WHERE a.id = 1",
                "SELECT * FROM a JOIN c ON a.id = c.id WHERE a.id = 1",  # int4 = int8: not followed
                "SELECT * FROM a JOIN b ON true WHERE a.id = 1 OR a.id = b.id",
                "SELECT * FROM a JOIN b ON EXISTS (SELECT 1 FROM a x JOIN b y ON x.id = y.id) WHERE a.id = 1",
                "SELECT * FROM a, b WHERE a.id = 1"):
        assert _pinned_tables(sql) is None, sql
