"""sql/plpgsql_upsert.py: upserts in PL/pgSQL bodies rewritten to run on the coordinator."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.sql import plpgsql_upsert as up


def _columns(schema: str | None, name: str) -> tuple[str, ...] | None:
    return ("k", "n") if name == "counts" and schema in (None, "app") else None


def _rewrite(body: str, args: str = "") -> str:
    create = f"CREATE FUNCTION f({args}) RETURNS int LANGUAGE plpgsql AS $x${body}$x$"
    return up.rewrite_body(create, body, _columns)


def test_variables_become_typed_literals_and_columns_stay() -> None:
    body = ("\nDECLARE c int := 1;\nBEGIN\n  INSERT INTO counts AS x (k, n) VALUES (NEW.cust, c)\n"
            "    ON CONFLICT (k) DO UPDATE SET n = x.n + excluded.n;\n  RETURN 1;\nEND")
    out = _rewrite(body, "new record")
    assert "PERFORM 1 FROM gridpg.loopback_run('INSERT INTO counts AS x (k, n) VALUES (' || " in out
    assert "pg_catalog.quote_nullable(NEW.cust) || '::' || pg_catalog.pg_typeof(NEW.cust)" in out
    assert "pg_catalog.quote_nullable(c)" in out
    assert "SET n = x.n + excluded.n', 'perform');\n  RETURN 1;" in out


def test_only_distributed_targets_with_a_conflict_target_or_do_update() -> None:
    body = ("BEGIN INSERT INTO counts VALUES ('a', 1) ON CONFLICT DO NOTHING; "
            "INSERT INTO other VALUES ('a', 1) ON CONFLICT (k) DO NOTHING; "
            "INSERT INTO app.counts VALUES ('a%', 1) ON CONFLICT (k) DO NOTHING; RETURN 1; END")
    out = _rewrite(body)
    assert "INSERT INTO counts VALUES ('a', 1) ON CONFLICT DO NOTHING;" in out
    assert "INSERT INTO other VALUES ('a', 1) ON CONFLICT (k) DO NOTHING;" in out
    assert "gridpg.loopback_run('INSERT INTO app.counts VALUES (''a%'', 1) ON CONFLICT (k) DO NOTHING', 'perform');" in out


def test_returning_into_on_one_line_with_other_statements() -> None:
    body = ("DECLARE v int; w text; x int; BEGIN x := 1; INSERT INTO counts (k, n) VALUES ($1, p) "
            "ON CONFLICT (k) DO UPDATE SET n = counts.n + 1 RETURNING n, k INTO STRICT v, w; x := 2; "
            "INSERT INTO counts (k, n) VALUES ($1, p) ON CONFLICT (k) DO UPDATE SET n = counts.n + 1 "
            "RETURNING n INTO v; RETURN v; END")
    out = _rewrite(body, "text, p int")
    assert "SELECT (gp_run.r)[1], (gp_run.r)[2] INTO STRICT v, w FROM gridpg.loopback_run(" in out
    assert "SELECT (gp_run.r)[1] INTO v FROM gridpg.loopback_run(" in out
    assert "pg_catalog.quote_nullable($1)" in out
    assert out.count("x := ") == 2 and out.endswith("RETURN v; END")


def test_a_name_both_variable_and_column_is_ambiguous_unless_told() -> None:
    body = "BEGIN INSERT INTO counts VALUES ('a', n) ON CONFLICT (k) DO UPDATE SET n = counts.n + n; RETURN 1; END"
    with pytest.raises(PgError) as err:
        _rewrite(body, "n int")
    assert err.value.sqlstate == "42702"
    with pytest.raises(PgError):
        _rewrite("BEGIN INSERT INTO counts VALUES (k, 1) ON CONFLICT (k) DO NOTHING; RETURN 1; END", "k text")
    out = _rewrite("#variable_conflict use_column\n" + body, "n int")
    assert "counts.n + n'" in out and "quote_nullable(n)" in out  # VALUES: the variable


def test_labels_and_record_star() -> None:
    out = _rewrite("<<b>> DECLARE v int := 1; BEGIN INSERT INTO counts VALUES (f.p, b.v) "
                   "ON CONFLICT (k) DO NOTHING; RETURN 1; END", "p text")
    assert "quote_nullable(f.p)" in out and "quote_nullable(b.v)" in out
    with pytest.raises(PgError) as err:
        _rewrite("BEGIN INSERT INTO counts SELECT NEW.* ON CONFLICT (k) DO NOTHING; RETURN 1; END", "new record")
    assert err.value.sqlstate == "0A000"


def test_do_blocks() -> None:
    sql = "DO $$ BEGIN INSERT INTO counts VALUES ('q', 1) ON CONFLICT (k) DO NOTHING; END $$"
    out = up.rewrite_do(sql, _columns)
    assert out.startswith("DO $gp$ BEGIN PERFORM 1 FROM gridpg.loopback_run(") and out.endswith("END $gp$")
    plain = "DO 'BEGIN INSERT INTO counts VALUES (''q'', 1) ON CONFLICT (k) DO NOTHING; END'"
    assert "loopback_run" in up.rewrite_do(plain, _columns)
    assert up.rewrite_do("DO $$ BEGIN NULL; END $$", _columns) == "DO $$ BEGIN NULL; END $$"


def test_return_query_and_for_loops_take_the_rows_as_text() -> None:
    body = ("DECLARE a int; r record; BEGIN /* c */ RETURN /* q */ QUERY INSERT INTO counts VALUES ($1, 1) "
            "ON CONFLICT (k) DO UPDATE SET n = counts.n + 1 RETURNING k, n; "
            "FOR a IN INSERT INTO counts VALUES ($1, 2) ON CONFLICT (k) DO NOTHING RETURNING n LOOP NULL; END LOOP; "
            "FOR r IN INSERT INTO counts VALUES ($1, 3) ON CONFLICT (k) DO NOTHING RETURNING * LOOP NULL; END LOOP; "
            "END")
    create = f"CREATE FUNCTION f(text) RETURNS TABLE (\"Key\" text, total int) LANGUAGE plpgsql AS $x${body}$x$"
    out = up.rewrite_body(create, body, _columns)
    assert out.startswith("DECLARE a int; r record; BEGIN /* c */ DECLARE gp_out_1 \"Key\"%TYPE := \"Key\"; "
                          "gp_out_2 total%TYPE := total; BEGIN FOR \"Key\", total IN SELECT (gp_run.r)[1], (gp_run.r)[2] FROM "
                          "gridpg.loopback_run(")
    assert "'rows') AS gp_run(r) LOOP RETURN NEXT; END LOOP; \"Key\" := gp_out_1; total := gp_out_2; END; FOR a IN" in out
    assert "FOR a IN SELECT (gp_run.r)[1] FROM gridpg.loopback_run(" in out
    assert "FOR r IN SELECT (gp_row.x).k AS k, (gp_row.x).n AS n FROM gridpg.loopback_run(" in out
    assert ("'rows') AS gp_run(r), LATERAL (SELECT pg_catalog.jsonb_populate_record(NULL::counts, "
            "pg_catalog.jsonb_object(ARRAY['k', 'n']::text[], gp_run.r)) AS x) AS gp_row LOOP") in out
    no_outs = f"CREATE FUNCTION f(text) RETURNS SETOF app.counts LANGUAGE plpgsql AS $x${body}$x$"
    assert "DECLARE gp_row app.counts; BEGIN FOR gp_row IN SELECT" in up.rewrite_body(no_outs, body, _columns)


def test_a_record_loop_variable_needs_the_targets_columns() -> None:
    body = ("DECLARE r record; BEGIN FOR r IN INSERT INTO counts AS c VALUES ('a', 1) ON CONFLICT (k) DO NOTHING "
            "RETURNING c.n AS total, k LOOP NULL; END LOOP; RETURN 1; END")
    assert ("SELECT (gp_row.x).n AS total, (gp_row.x).k AS k FROM gridpg.loopback_run("
            in _rewrite(body))
    assert "jsonb_object(ARRAY['n', 'k']::text[], gp_run.r)" in _rewrite(body)
    with pytest.raises(PgError) as err:
        _rewrite(body.replace("RETURNING c.n AS total, k", "RETURNING k || 'x'"))
    assert err.value.sqlstate == "0A000"
    setof_record = ("CREATE FUNCTION f() RETURNS SETOF record LANGUAGE plpgsql AS $x$BEGIN RETURN QUERY INSERT "
                    "INTO counts VALUES ('a', 1) ON CONFLICT (k) DO NOTHING RETURNING k; END$x$")
    with pytest.raises(PgError) as err:
        up.rewrite_body(setof_record, setof_record.split("$x$")[1], _columns)
    assert err.value.sqlstate == "0A000"


def test_sub_selects_of_values_rows_are_evaluated_in_the_body_once() -> None:
    """A statement trigger's upsert of its transition table's totals: the coordinator that
    runs the statement has no `newtab` (42P01), so each sub-select of a VALUES row is
    evaluated where the code runs, once, and written in as a typed literal; variables inside
    it stay PL/pgSQL's, and those outside are written in as before."""
    body = ("\nDECLARE c int := 1;\nBEGIN\n  INSERT INTO counts AS x (k, n) VALUES (c, (SELECT count(*) FROM newtab "
            "WHERE k > c) + EXISTS (SELECT 1 FROM newtab)::int)\n    ON CONFLICT (k) DO UPDATE SET n = x.n + "
            "(SELECT 1);\n  RETURN 1;\nEND")
    out = _rewrite(body)
    assert out.count("FROM (SELECT (SELECT count(*) FROM newtab WHERE k > c)) AS gp_v(v))") == 1
    assert "FROM (SELECT EXISTS (SELECT 1 FROM newtab)) AS gp_v(v))" in out
    assert "VALUES (' || '(' || pg_catalog.quote_nullable(c)" in out
    assert "newtab WHERE k > c)" not in out.split("FROM (SELECT (SELECT", 1)[0]
    assert "DO UPDATE SET n = x.n + (SELECT 1)', 'perform')" in out  # (SET runs on a conflict only)
