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
