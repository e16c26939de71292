"""Dynamic statements of PL/pgSQL bodies wrapped in the loopback's redirect (h-code21)."""

from gridpg.sql import plpgsql
from gridpg.sql.plpgsql_dynamic import may_name_schemas, wrap_body, wrap_dynamic


def _create(body: str, returns: str = "SETOF int") -> str:
    return f"CREATE FUNCTION f() RETURNS {returns} LANGUAGE plpgsql AS $gp${body}$gp$"


BODY = (" DECLARE c refcursor; r record; BEGIN EXECUTE format('x %I.%I', a, b) INTO r USING 1;"
        " FOR r IN EXECUTE 'q' || t LOOP END LOOP; RETURN QUERY EXECUTE 'a' || (b) USING 1;"
        " OPEN c FOR EXECUTE 's'; IF true THEN EXECUTE $q$ select ';' $q$; END IF;"
        " GRANT EXECUTE ON FUNCTION g() TO x; END ")


def test_every_dynamic_statement_is_wrapped_and_nothing_else() -> None:
    out = wrap_body(_create(BODY), BODY)
    assert "EXECUTE gridpg.loopback_redirect(format('x %I.%I', a, b), true) INTO r USING 1" in out
    assert "IN EXECUTE gridpg.loopback_redirect('q' || t, true) LOOP" in out
    assert "QUERY EXECUTE gridpg.loopback_redirect('a' || (b), true) USING 1" in out
    assert "FOR EXECUTE gridpg.loopback_redirect('s', true);" in out
    assert "EXECUTE gridpg.loopback_redirect($q$ select ';' $q$, false);" in out  # (no rows read)
    assert "GRANT EXECUTE ON FUNCTION g() TO x" in out
    late_into = " DECLARE r int; BEGIN EXECUTE f(a) USING 1 INTO r; END "
    assert "EXECUTE gridpg.loopback_redirect(f(a), true) USING 1 INTO r" in wrap_body(_create(late_into, "void"), late_into)


def test_wrapping_twice_changes_nothing() -> None:
    once = wrap_body(_create(BODY), BODY)
    assert wrap_body(_create(once), once) == once


def test_cuts_that_differ_from_the_parser_wrap_nothing() -> None:
    assert wrap_dynamic(" BEGIN EXECUTE 'a'; END ", ["'b'"]) is None
    body = " BEGIN PERFORM 1; END "
    assert wrap_body(_create(body, "void"), body) == body


def test_texts_that_may_name_schemas() -> None:
    assert may_name_schemas("plpgsql", _create(" BEGIN EXECUTE format('SELECT 1 FROM %s', r); END ", "void"))
    assert may_name_schemas("plpgsql", _create(" BEGIN EXECUTE 'DELETE FROM app.t'; END ", "void"))
    assert not may_name_schemas("plpgsql", _create(" BEGIN EXECUTE format('DELETE FROM %I', t); END ", "void"))
    assert not may_name_schemas("sql", "SELECT 1")
    assert sorted(plpgsql.dynamic_texts(_create(BODY))) == sorted(
        ["format('x %I.%I', a, b)", "'q' || t", "'a' || (b)", "'s'", "$q$ select ';' $q$"])


def test_texts_that_may_be_ddl_are_left_alone() -> None:
    assert not may_name_schemas("plpgsql", _create(
        " BEGIN EXECUTE format('CREATE TABLE %I.%I (k int)', s, t); END ", "void"))


def test_bound_run_puts_parameters_in_as_typed_literals() -> None:
    from gridpg.executor.dynamic_text import _bound_run, _same_schemas

    out = _bound_run("MERGE INTO t USING (VALUES ($1, $2, '50%')) v(k, n, s) ON t.k = v.k WHEN MATCHED THEN UPDATE SET n = $2")
    assert out.startswith("SELECT 1 FROM gridpg.loopback_run(pg_catalog.format('MERGE INTO t USING (VALUES (%1$s, %2$s, ''50%%'')) ")
    assert "SET n = %2$s', pg_catalog.format('%L::%s', $1, pg_catalog.pg_typeof($1)), " in out
    assert out.endswith("pg_catalog.format('%L::%s', $2, pg_catalog.pg_typeof($2))), 'perform')")
    assert _bound_run("INSERT INTO t VALUES (1) ON CONFLICT (k) DO NOTHING") == (
        "SELECT 1 FROM gridpg.loopback_run('INSERT INTO t VALUES (1) ON CONFLICT (k) DO NOTHING', 'perform')")
    existing = {"public", "app", "app2", "pg_catalog"}
    assert _same_schemas(["gridpg_lb_calls", "pg_catalog", "gridpg_lb_2200", "public", "pg_temp_3"],
                         ("nobody", "public"), existing)
    assert not _same_schemas(["gridpg_lb_calls", "pg_catalog", "public"], ("app", "public"), existing)
    assert not _same_schemas(["gridpg_lb_calls", "app2", "public"], ("app", "public"), existing)
    assert not _same_schemas(None, ("public",), existing)
