"""Reading server-side code (PL/pgSQL and SQL bodies, DO blocks) and temp-table name
resolution: the pure layers of the server-side-code guard."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze, routines, tempnames
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql


def _plpgsql(body: str, returns: str = "void") -> routines.Routine:
    text = f"CREATE OR REPLACE FUNCTION public.f(i integer) RETURNS {returns} LANGUAGE plpgsql AS $function${body}$function$"
    return routines.Routine(1, "public", "f", "i integer", "plpgsql", "f", text)


def _names(access: routines.Access) -> set[str]:
    return {r.name for r in access.all_relations()}


def test_plpgsql_statements_expressions_and_cursors_are_read() -> None:
    access = routines.routine_access(_plpgsql("""
        DECLARE n int; c CURSOR FOR SELECT * FROM cur_t; r record;
        BEGIN
          INSERT INTO ins_t VALUES (i);
          n := (SELECT count(*) FROM assign_t);
          IF EXISTS (SELECT 1 FROM cond_t) THEN PERFORM g(i); END IF;
          FOR r IN SELECT * FROM loop_t LOOP NULL; END LOOP;
          RETURN;
        END"""))
    assert _names(access) == {"cur_t", "ins_t", "assign_t", "cond_t", "loop_t"}
    assert (None, "g") in access.calls
    assert access.blocker() is None


def test_constant_dynamic_sql_is_read_and_other_dynamic_sql_blocks() -> None:
    constant = routines.routine_access(_plpgsql("BEGIN EXECUTE 'DELETE FROM ' || 'dyn_t'; END"))
    assert _names(constant) == {"dyn_t"} and constant.blocker() is None
    dynamic = routines.routine_access(_plpgsql("BEGIN EXECUTE format('DELETE FROM %I', i::text); END"))
    assert dynamic.blocker() is not None and "dynamic SQL" in dynamic.blocker()
    query = routines.routine_access(_plpgsql("BEGIN RETURN QUERY EXECUTE 'SELECT ' || i; END", "SETOF int"))
    assert query.blocker() is not None


def test_sql_bodies_string_and_atomic() -> None:
    string = routines.Routine(2, "s", "f", "", "sql", "f",
                              "CREATE FUNCTION s.f() RETURNS bigint LANGUAGE sql AS $$ SELECT 1; SELECT count(*) FROM s.t $$")
    assert [(r.schema, r.name) for r in routines.routine_access(string).relations] == [("s", "t")]
    atomic = routines.Routine(3, "s", "g", "", "sql", "f",
                              "CREATE FUNCTION s.g() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM u; END")
    assert _names(routines.routine_access(atomic)) == {"u"}


def test_languages_c_is_trusted_and_others_are_unreadable() -> None:
    c = routines.Routine(4, "public", "h", "", "c", "f", "")
    assert routines.routine_access(c).blocker() is None
    perl = routines.Routine(5, "public", "p", "", "plperl", "f", "CREATE FUNCTION ...")
    assert "plperl" in (routines.routine_access(perl).blocker() or "")


def test_statement_access_reads_calls_call_and_do() -> None:
    access = routines.statement_access(sqlparse.parse_tree("CALL p(1, x.f(2))"))
    assert access.calls == {(None, "p"), ("x", "f")}
    do = routines.statement_access(sqlparse.parse_tree(
        "DO $$ BEGIN UPDATE d SET v = 1; PERFORM q(); END $$"))
    assert _names(do) == {"d"} and (None, "q") in do.all_calls()
    other = routines.statement_access(sqlparse.parse_tree("DO LANGUAGE plperl $$ 1 $$"))
    assert other.blocker() is not None
    assert routines.user_calls(routines.statement_access(sqlparse.parse_tree(
        'SELECT "MixedCase"(), pg_catalog.now(), count(*)')), frozenset({"mixedcase"})) == {(None, "MixedCase")}


def test_first_distributed_resolves_through_the_routine_path() -> None:
    table = DistTable("app", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
    access = routines.Access(relations=(analyze.RelRef(None, "t", 0, None),
                                        analyze.RelRef("pg_catalog", "t", 0, None)))

    def resolve(ref: analyze.RelRef, path: tuple[str, ...]) -> DistTable | None:
        schema = ref.schema or (path[0] if path else None)
        return table if (schema, ref.name) == ("app", "t") else None

    assert routines.first_distributed(access, ("app",), resolve) is table
    assert routines.first_distributed(access, ("public",), resolve) is None


def test_do_block_tag_never_collides() -> None:
    text = plpgsql.do_block_function("BEGIN PERFORM '$gp$'; END")
    assert plpgsql.embedded_sql(text)  # parses: the tag was changed


def test_temp_names_come_first_unless_pg_temp_is_placed() -> None:
    path = tempnames.with_temp_names(["app", "public"], {"x"})
    assert tempnames.shadows(path, None, "x") and not tempnames.shadows(path, None, "y")
    assert tempnames.shadows(path, "pg_temp", "y") and tempnames.shadows(path, "pg_temp_3", "y")
    assert not tempnames.shadows(path, "app", "x")
    late = tempnames.with_temp_names(["app", "pg_temp"], {"x"})
    assert late.index(tempnames.MARK + "x") == 1
    assert tempnames.temp_names(late) == {"x"}
    assert tempnames.with_temp_names(["pg_temp", "app"], set()) == ["app"]
