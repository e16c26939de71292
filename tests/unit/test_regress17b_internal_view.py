"""commands/internal_view.py after the seventeenth replay (h-regress17b): the foreign-data
catalogs leave the loopback out, and `c.tableoid` of a substituted pg_catalog table no
longer keeps a statement from being filtered (psql's \\des+). Pure."""

from __future__ import annotations

from gridpg.commands import internal_view


def test_the_foreign_data_catalogs_are_filtered() -> None:
    for catalog in ("pg_foreign_server", "pg_user_mapping", "pg_user_mappings", "pg_foreign_table",
                    "information_schema.foreign_servers", "information_schema.user_mapping_options",
                    "information_schema.foreign_tables", "information_schema.foreign_table_options",
                    "information_schema._pg_foreign_servers", "information_schema._pg_user_mappings"):
        out = internal_view.rewrite(f"SELECT * FROM {catalog} ORDER BY 1")
        assert "gridpg_loopback" in out, catalog
    for catalog in ("pg_foreign_data_wrapper", "information_schema.foreign_data_wrappers",
                    "information_schema.foreign_data_wrapper_options"):
        out = internal_view.rewrite(f"SELECT * FROM {catalog}")
        assert "gp_hs.srvfdw FROM pg_catalog.pg_foreign_server gp_hs WHERE gp_hs.srvname = 'gridpg_loopback'" in out


def test_the_loopbacks_event_triggers_are_filtered() -> None:
    out = internal_view.rewrite("SELECT evtname FROM pg_catalog.pg_event_trigger e ORDER BY 1")
    assert out.startswith("SELECT evtname FROM (SELECT * FROM pg_catalog.pg_event_trigger gp_x WHERE gp_x.evtfoid")
    assert "gp_hn.nspname = 'gridpg'" in out and out.endswith(") e ORDER BY 1")


def test_tableoid_of_a_substituted_catalog_is_its_oid() -> None:
    sql = ("SELECT s.srvname FROM pg_catalog.pg_foreign_server s LEFT JOIN pg_catalog.pg_description d "
           "ON d.classoid = s.tableoid AND d.objoid = s.oid")
    out = internal_view.rewrite(sql)
    assert "d.classoid = 'pg_catalog.pg_foreign_server'::pg_catalog.regclass::pg_catalog.oid AND" in out
    assert "(SELECT * FROM pg_catalog.pg_foreign_server gp_x WHERE" in out
    out = internal_view.rewrite('SELECT c.relname, d.tableoid FROM pg_class c, pg_description d WHERE c."tableoid" > 0')
    assert out.startswith("SELECT c.relname, d.tableoid FROM (SELECT * FROM pg_catalog.pg_class gp_x")
    assert out.endswith("WHERE 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid > 0")
    # kept as sent: other system columns of a catalog, an unqualified or unaliased output
    # tableoid (the constant would rename the column), a view's (it has none: PostgreSQL's error)
    for sql in ("SELECT c.xmin, c.relname FROM pg_class c", "SELECT relname FROM pg_class WHERE ctid > '(0,0)'",
                "SELECT tableoid FROM pg_class", "SELECT c.tableoid FROM pg_class c",
                "SELECT t.tableoid FROM information_schema.tables t"):
        assert internal_view.rewrite(sql) == sql, sql


def test_the_loopbacks_extension_is_left_out_of_pg_extension() -> None:
    """(h-contrib26) `SELECT extname FROM pg_extension` listed gridpg's postgres_fdw beside
    the client's own extensions."""
    out = internal_view.rewrite("SELECT extname FROM pg_extension ORDER BY 1")
    assert out.startswith("SELECT extname FROM (SELECT * FROM pg_catalog.pg_extension gp_x WHERE NOT "
                          "(gp_x.extname = 'postgres_fdw' AND gp_x.extnamespace IN")
    assert out.endswith(") AS pg_extension ORDER BY 1")
