"""The catalogs as pg_dump sees them through a coordinator (commands/dump_view.py): which
sessions, which statements, and the text spliced in, without a server."""

from __future__ import annotations

from gridpg.commands import dump_view

NAMESPACES = ("SELECT n.tableoid, n.oid, n.nspname, n.nspowner, n.nspacl, "
              "acldefault('n', n.nspowner) AS acldefault FROM pg_namespace n")
MEMBERSHIP = ("SELECT classid, objid, refobjid FROM pg_depend WHERE refclassid = "
              "'pg_extension'::regclass AND deptype = 'e' ORDER BY 3")


def test_only_dump_clients_see_the_dump_view() -> None:
    assert dump_view.is_dump_client({"application_name": "pg_dump"})
    assert dump_view.is_dump_client({"application_name": "pg_dumpall"})
    assert not dump_view.is_dump_client({"application_name": "psql"})
    assert not dump_view.is_dump_client({})
    # pg_dump under another application_name (PGAPPNAME): its connection setup
    assert dump_view.is_dump_client({"application_name": "nightly", "synchronize_seqscans": "off"})
    assert not dump_view.is_dump_client({"application_name": "nightly", "synchronize_seqscans": "on"})


def test_pg_dumps_namespace_query_reads_the_renaming_subquery() -> None:
    out = dump_view.rewrite(NAMESPACES)
    assert out.startswith("SELECT n.tableoid, n.oid, n.nspname")
    assert "FROM (SELECT n.tableoid, n.oid, CASE WHEN" in out and out.endswith(") n")
    assert "'pg_' || n.nspname" in out and "'gridpg_shards'" in out and "'gridpg_lb_'" in out


def test_unaliased_and_qualified_references_keep_their_name() -> None:
    out = dump_view.rewrite("SELECT pg_namespace.nspname FROM pg_catalog.pg_namespace WHERE oid = 11")
    assert ") AS pg_namespace WHERE oid = 11" in out
    assert "FROM pg_catalog.pg_namespace WHERE" not in out


def test_membership_rows_point_at_the_hidden_extensions_small_oid() -> None:
    out = dump_view.rewrite(MEMBERSHIP)
    assert "FROM (SELECT d.tableoid, d.classid, CASE WHEN d.classid = 'pg_catalog.pg_extension'" in out
    assert out.endswith(") AS pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e' ORDER BY 3")


def test_other_statements_are_left_alone() -> None:
    for sql in ("SELECT 1", "SELECT nspname FROM my_schema.pg_namespace", "COPY app.t (a) TO stdout",
                "SELECT * FROM pg_class"):
        assert dump_view.rewrite(sql) == sql
    assert not dump_view.reads_hidden("COPY app.t (a) TO stdout")
    assert dump_view.reads_hidden(NAMESPACES) and dump_view.reads_hidden("SELECT last_value FROM app.s")
