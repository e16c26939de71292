"""planner/sizes.py and commands/internal_view.py: the statement texts they produce (pure)."""

from __future__ import annotations

from gridpg.commands import internal_view
from gridpg.planner import sizes


def test_calls_are_found_with_their_arguments_and_column_names() -> None:
    sql = ("/* c */ SELECT relname, pg_catalog.pg_total_relation_size(c.oid), "
           "pg_size_pretty(pg_relation_size($1, 'fsm')) AS p FROM pg_class c")
    calls = sizes.find_calls(sql)
    assert [(c.name, c.args, c.constant, c.alias) for c in calls] == [
        ("pg_total_relation_size", ("c.oid",), False, "pg_total_relation_size"),
        ("pg_relation_size", ("$1", "'fsm'"), False, None),
    ]
    assert sql[calls[0].start:calls[0].end] == "pg_catalog.pg_total_relation_size(c.oid)"
    constant = sizes.find_calls("SELECT count(*) FROM t WHERE pg_relation_size('t', (ARRAY['main'])[1]) > 0")
    assert [(c.args, c.constant, c.alias) for c in constant] == [(("'t'", "(ARRAY['main'])[1]"), True, None)]


def test_rewrite_looks_the_argument_up_and_falls_back_to_postgresql() -> None:
    sql = "SELECT pg_relation_size(oid, 'vm') FROM pg_class"
    out = sizes.rewrite(sql, sizes.find_calls(sql), {16384: {"vm": 8192, "main": 1}})
    assert "(16384::pg_catalog.oid, 'vm', 8192::bigint)" in out
    assert "gp_sz.o = (oid)::pg_catalog.regclass::pg_catalog.oid AND gp_sz.w = ('vm')::text" in out
    assert out.endswith("pg_catalog.pg_relation_size(oid, 'vm')) AS pg_relation_size FROM pg_class")
    # no distributed relation: PostgreSQL's own call; Citus's names mapped to PostgreSQL's
    sql = "SELECT citus_total_relation_size('t', fail_on_error := true)"
    out = sizes.rewrite(sql, sizes.find_calls(sql), {})
    assert out == "SELECT pg_catalog.pg_total_relation_size('t') AS citus_total_relation_size"


def test_values_replace_calls_in_statements_over_distributed_tables() -> None:
    sql = "SELECT id, pg_table_size('t') FROM t WHERE pg_relation_size('t') > 0"
    calls = sizes.find_calls(sql)
    assert sizes.with_values(sql, calls, ["40960", None]) == \
        "SELECT id, 40960::bigint AS pg_table_size FROM t WHERE NULL::bigint > 0"
    assert sizes.lookup_select(calls, {}).startswith("SELECT pg_catalog.pg_table_size('t'), ")


def test_internal_objects_are_filtered_from_selects_only() -> None:
    out = internal_view.rewrite("SELECT relname FROM pg_class WHERE relname = 'x'")
    assert out.startswith("SELECT relname FROM (SELECT * FROM pg_catalog.pg_class gp_x WHERE")
    assert out.endswith(") AS pg_class WHERE relname = 'x'")
    aliased = internal_view.rewrite('SELECT t.table_name FROM "information_schema".tables t')
    assert "FROM (SELECT * FROM information_schema.tables gp_x WHERE NOT" in aliased and aliased.endswith(") t")
    # kept as sent: a system column (a subquery has none), a CTE of that name, DML, EXPLAIN
    for sql in ("SELECT xmin, relname FROM pg_class",
                "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class c",
                "SELECT pg_catalog.pg_class.relname FROM pg_class a, pg_catalog.pg_class",
                "SELECT postgres.pg_catalog.pg_class.relname FROM pg_catalog.pg_class",
                "SELECT count(*) FROM ONLY pg_class", "SELECT count(*) FROM pg_class TABLESAMPLE system (50)", "WITH pg_class AS (SELECT 1) SELECT * FROM pg_class",
                "UPDATE pg_class SET relpages = 0 WHERE false", "EXPLAIN SELECT * FROM pg_class"):
        assert internal_view.rewrite(sql) == sql
    assert not internal_view.mentions("SELECT * FROM my_tables")


def test_schema_qualified_columns_of_a_substituted_catalog_lose_their_schema() -> None:
    """SQLAlchemy's reflection names its columns `pg_catalog.pg_namespace.nspname`: such a
    statement was kept as sent, and `get_schema_names()` listed gridpg's internal schemas."""
    sql = ("SELECT pg_catalog.pg_namespace.nspname FROM pg_catalog.pg_namespace "
           "WHERE pg_catalog.pg_namespace.nspname NOT LIKE 'pg_%' ORDER BY pg_catalog.pg_namespace.nspname")
    out = internal_view.rewrite(sql)
    assert out.startswith("SELECT pg_namespace.nspname FROM (SELECT * FROM pg_catalog.pg_namespace gp_x WHERE NOT")
    assert out.endswith(") AS pg_namespace WHERE pg_namespace.nspname NOT LIKE 'pg_%' ORDER BY pg_namespace.nspname")
    out = internal_view.rewrite('SELECT "pg_catalog"."pg_class".*, pg_catalog.pg_attrdef.adbin FROM pg_class '
                                "JOIN pg_catalog.pg_attrdef ON pg_catalog.pg_attrdef.adrelid = pg_class.oid")
    assert out.startswith('SELECT "pg_class".*, pg_catalog.pg_attrdef.adbin FROM (SELECT * FROM pg_catalog.pg_class')
    assert out.endswith(") AS pg_class JOIN pg_catalog.pg_attrdef ON pg_catalog.pg_attrdef.adrelid = pg_class.oid")


def test_bare_tableoid_targets_answer_the_catalogs_oid() -> None:
    from gridpg.executor import tableoid_oids

    sql = 'SELECT t.tableoid, "tableoid" AS o, tableoid::regclass, id FROM t WHERE tableoid = 1'
    targets = tableoid_oids.bare_targets(sql)
    assert targets == [(7, 17, False), (19, 29, True)]
    out = tableoid_oids.with_catalog_oids(sql, targets, {"public.t": 16550})
    assert out.startswith("SELECT CASE (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, "
                          "t.tableoid, 0)).identity WHEN 'public.t' THEN 16550::pg_catalog.oid ELSE t.tableoid END "
                          "AS tableoid, CASE ")
    assert 'ELSE "tableoid" END AS o, tableoid::regclass, id FROM t WHERE tableoid = 1' in out
    returning = "INSERT INTO t VALUES (1) RETURNING tableoid, id"
    assert tableoid_oids.bare_targets(returning) == [(35, 43, False)]
    # inside expressions and subqueries: not a bare select-list item
    assert tableoid_oids.bare_targets("SELECT tableoid::int, (SELECT tableoid FROM u) FROM t") == []
