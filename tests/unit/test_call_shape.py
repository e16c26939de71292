"""Paths and roles along server-side code's call graph; twins' text (pure parts)."""

from __future__ import annotations

from gridpg.errors import PgError
from gridpg.executor.twins import path_elements, rewrite_calls, twin_ddl
from gridpg.planner import call_shape
from gridpg.planner.routines import Access, Routine
from gridpg.sql import parse as sqlparse


def _r(oid: int, name: str, path: tuple[str, ...] | None = None, owner: str = "", secdef: bool = False) -> Routine:
    return Routine(oid, "app", name, "", "plpgsql", "f", "", path, (), secdef, owner)


def test_own_path_passes_to_callees_and_secdef_owner_to_everything_below() -> None:
    routines = {1: _r(1, "outer", ("app",), "boss", True), 2: _r(2, "inner"), 3: _r(3, "direct")}
    edges = {1: {0}, 2: {1, 3}, 3: {0}}
    shape = call_shape.shape(routines, edges, ("public",))
    assert shape.paths[2] == {("app",), ("public",)}
    assert shape.roles[2] == {"boss", None}
    assert shape.roles[1] == {"boss"} and shape.roles[3] == {None}


def test_twins_only_for_routines_the_statement_calls_and_one_role() -> None:
    tree = sqlparse.parse_tree('SELECT app."outer"(1)')
    routines = {1: (_r(1, "outer", ("app",), "boss", True), Access(), "f1"), 2: (_r(2, "inner"), Access(), "f2")}
    edges = {1: {0}, 2: {1}}
    shape = call_shape.shape({k: v[0] for k, v in routines.items()}, edges, ("public",))
    assert call_shape.twins_and_role(tree, routines, edges, shape, {2}, False, False,
                                     {("app", "outer"): [1]}) == (((1, "app", "outer", frozenset()),), "boss")
    # the statement itself touching tables too: two roles
    assert isinstance(call_shape.twins_and_role(tree, routines, edges, shape, {2}, True, False,
                                                {("app", "outer"): [1]}), PgError)
    # a routine with its own path called by another routine: both run as twins (the
    # caller's twin calls the callee's in pg_temp) when no other routine has its name
    routines[2] = (_r(2, "inner", ("app",)), Access(), "f2")
    shape = call_shape.shape({k: v[0] for k, v in routines.items()}, edges, ("public",))
    assert call_shape.twins_and_role(tree, routines, edges, shape, {2}, False, False,
                                     {("app", "outer"): [1], (None, "inner"): [2]}) == (
        ((1, "app", "outer", frozenset()), (2, None, "inner", frozenset())), "boss")
    # ... else refused: the caller's call could mean another routine
    assert isinstance(call_shape.twins_and_role(tree, routines, edges, shape, {2}, False, False,
                                                {("app", "outer"): [1], (None, "inner"): [2, 3]}), PgError)


def test_qualified_names_make_a_twin_of_a_routine_the_statement_calls() -> None:
    tree = sqlparse.parse_tree("SELECT q()")
    routines = {1: (_r(1, "q"), Access(), "f1")}
    shape = call_shape.shape({1: routines[1][0]}, {1: {0}}, ("public",))
    pairs = frozenset({("app", "t")})
    assert call_shape.twins_and_role(tree, routines, {1: {0}}, shape, {1}, False, False,
                                     {(None, "q"): [1]}, ("app",), {1: pairs}) == (((1, None, "q", pairs),), None)


def test_path_elements_and_call_rewriting() -> None:
    assert path_elements('"App X", app, pg_temp') == ["App X", "app", "pg_temp"]
    assert path_elements('"a""b",  "$user"') == ['a"b', "$user"]
    sql = 'SELECT /* c */ "App" . f (1), app.g(f(2)), f(3) FROM x'
    out = rewrite_calls(sql, {("App", "f"): '"gridpg_lbf_1".f', (None, "f"): '"gridpg_lbf_2".f'})
    assert out == 'SELECT /* c */ "gridpg_lbf_1".f(1), app.g("gridpg_lbf_2".f(2)), "gridpg_lbf_2".f(3) FROM x'
    assert rewrite_calls("CALL app.p(1)", {("app", "p"): "z.p"}) == "CALL z.p(1)"


def test_twin_ddl_keeps_the_definition_and_puts_shadows_on_its_path() -> None:
    definition = ("CREATE OR REPLACE FUNCTION app.f(i integer)\n RETURNS bigint\n LANGUAGE sql\n"
                  " SECURITY DEFINER\n SET search_path TO 'app', 'pg_temp'\nAS $function$ select 1 $function$\n")
    row = ("10", "f", definition, "app.f", "f", "i integer", "boss", "f", "PUBLIC, boss", "f", "app, pg_temp")
    name, create, drop = twin_ddl(row, {"app": "77"})
    assert name == "pg_temp.f" and drop == "DROP FUNCTION pg_temp.f(i integer)"
    assert create.startswith("CREATE FUNCTION pg_temp.f(i integer)\n RETURNS bigint")
    assert "SET search_path TO 'gridpg_lb_calls', 'pg_catalog', 'gridpg_lb_77', 'app', 'pg_temp'\nAS $function$ select 1 $function$;" in create
    assert "OWNER TO boss" in create and "REVOKE ALL ON FUNCTION" in create and "GRANT EXECUTE" in create
    # default privileges (proacl NULL): executable by PUBLIC, as the routine
    _, create, _ = twin_ddl(row[:7] + ("t", None) + row[9:], {"app": "77"})
    assert "REVOKE" not in create and "GRANT" not in create


def test_a_routine_of_that_name_off_the_path_is_not_called() -> None:
    tree = sqlparse.parse_tree("SELECT * FROM up(1)")
    here = Routine(1, "tenant_a", "up", "", "plpgsql", "f", "", None, (), False, "")
    there = Routine(2, "tenant_b", "up", "", "plpgsql", "f", "", None, (), False, "")
    routines = {1: (here, Access(), "tenant_a.up"), 2: (there, Access(), "tenant_b.up")}
    edges = {1: {0}, 2: {0}}
    shape = call_shape.shape({k: v[0] for k, v in routines.items()}, edges, ("tenant_a",))
    # both upsert into distributed tables: only the one the path reaches runs as a twin
    assert call_shape.twins_and_role(tree, routines, edges, shape, {1, 2}, False, False,
                                     {(None, "up"): [1, 2]}, ("tenant_a",), upserting={1, 2}) == (
        ((1, None, "up", frozenset()),), None)
    # with both schemas on the path the call cannot be told: refused, as before
    shape = call_shape.shape({k: v[0] for k, v in routines.items()}, edges, ("tenant_a", "tenant_b"))
    assert isinstance(call_shape.twins_and_role(tree, routines, edges, shape, {1, 2}, False, False,
                                                {(None, "up"): [1, 2]}, ("tenant_a", "tenant_b"),
                                                upserting={1, 2}), PgError)


def test_errors_of_twins_name_the_routines_as_called() -> None:
    from gridpg.executor.loopback import without_twin_names

    exc = PgError.from_fields({"S": "ERROR", "C": "22012", "M": "division by zero",
                               "W": "PL/pgSQL function pg_temp_12.boom(integer) line 4 at RETURN\n"
                                    "SQL function pg_temp_3.outer() statement 1"})
    assert without_twin_names(exc).fields["W"] == ("PL/pgSQL function boom(integer) line 4 at RETURN\n"
                                                   "SQL function outer() statement 1")


def test_a_nested_callee_of_that_name_off_the_callers_path_is_not_called() -> None:
    tree = sqlparse.parse_tree("SELECT outer_fn()")
    outer = Routine(1, "a", "outer_fn", "", "plpgsql", "f", "", None, (), False, "")
    inner_a = Routine(2, "a", "inner_fn", "", "plpgsql", "f", "", ("a",), (), False, "")
    inner_b = Routine(3, "b", "inner_fn", "", "plpgsql", "f", "", ("b",), (), False, "")
    routines = {1: (outer, Access(), "a.outer_fn"), 2: (inner_a, Access(), "a.inner_fn"),
                3: (inner_b, Access(), "b.inner_fn")}
    edges = {1: {0}, 2: {1}, 3: {1}}
    shape = call_shape.shape({k: v[0] for k, v in routines.items()}, edges, ("a",))
    by_call = {(None, "outer_fn"): [1], (None, "inner_fn"): [2, 3]}
    assert call_shape.twins_and_role(tree, routines, edges, shape, {2, 3}, False, False, by_call, ("a",)) == (
        ((1, None, "outer_fn", frozenset()), (2, None, "inner_fn", frozenset())), None)
