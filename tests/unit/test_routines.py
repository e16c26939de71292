"""Reading server-side code (PL/pgSQL and SQL bodies, DO blocks) and temp-table name
resolution: the pure layers of the server-side-code guard."""

from __future__ import annotations

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.planner import analyze, delegation, routines, tempnames
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


# -- distributed functions (planner/delegation.py) ----------------------------------------


_T = DistTable("app", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
_U = DistTable("app", "u", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
_W = DistTable("app", "w", "hash", "k", "text", 2, 32, ("dn1", "dn2"))
_R = DistTable("app", "r", "replication", None, None, None, None, ("dn1", "dn2"))
_SNAPSHOT = CatalogSnapshot(1, tables=(_T, _U, _W, _R))


def _resolve(ref: analyze.RelRef, path: tuple[str, ...]) -> DistTable | None:
    return _SNAPSHOT.table(ref.schema or "app", ref.name)


def _why(definition: str, language: str = "plpgsql", name: str | None = "i") -> str | None:
    routine = routines.Routine(9, "app", "f", "i integer", language, "f", definition)
    body = routines.routine_body(routine)
    assigned = plpgsql.assigned_variables(definition) if language == "plpgsql" else set()
    return delegation.why_not_delegable(body, delegation.Argument(1, name, "f"), assigned, _T,
                                        _SNAPSHOT, _resolve, ("app",), lambda t: ["id", "v"])


def _pl(body: str) -> str:
    return f"CREATE FUNCTION app.f(i int) RETURNS void LANGUAGE plpgsql AS $$ {body} $$"


def test_delegable_bodies_stay_on_the_arguments_node() -> None:
    assert _why(_pl("BEGIN INSERT INTO t VALUES (i, i * 100); UPDATE u SET v = 1 WHERE id = i; END")) is None
    assert _why(_pl("BEGIN PERFORM 1 FROM t JOIN r ON r.id = t.id WHERE t.id = i; END")) is None
    assert _why(_pl("BEGIN DELETE FROM t WHERE t.id = i AND v > 2; END")) is None
    sql = "CREATE FUNCTION app.f(int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t WHERE id = $1 $$"
    assert _why(sql, "sql", None) is None


def test_bodies_that_leave_the_node_are_not_delegable() -> None:
    reasons = {
        "BEGIN PERFORM count(*) FROM t; END": "not pinned",
        "BEGIN INSERT INTO t VALUES (i + 1, 0); END": "INSERT",
        "BEGIN INSERT INTO t SELECT i, 1; END": "INSERT",
        "BEGIN INSERT INTO r VALUES (i, 'x'); END": "writes replicated",
        "BEGIN UPDATE t SET id = 5 WHERE id = i; END": "distribution column",
        "BEGIN i := i + 1; DELETE FROM t WHERE id = i; END": "assigns",
        "BEGIN PERFORM v FROM w WHERE k = i::text; END": "not colocated",
        "BEGIN PERFORM 1 FROM t WHERE id IN (SELECT id FROM u WHERE id = i); END": "subquery",
        "BEGIN EXECUTE 'SELECT 1 FROM t WHERE id = ' || i; END": "dynamic",
        "BEGIN PERFORM 1 FROM t WHERE id = i OR v = 1; END": "not pinned",
    }
    for body, words in reasons.items():
        reason = _why(_pl(body))
        assert reason is not None and words in reason, (body, reason)


def test_call_shapes_and_arguments() -> None:
    call = delegation.call_of(sqlparse.parse_tree("SELECT app.f(42, 'x')"))
    assert call is not None and (call.schema, call.name) == ("app", "f")
    assert delegation.argument_value(call, 1) == analyze.Value("42")
    proc = delegation.call_of(sqlparse.parse_tree("CALL f($2, 1)"))
    assert proc is not None and delegation.argument_value(proc, 1) == analyze.Value(param=2)
    for sql in ("SELECT f(1), f(2)", "SELECT f(1) FROM t", "SELECT f(1) WHERE true", "SELECT count(*)"):
        assert delegation.call_of(sqlparse.parse_tree(sql)) is None, sql
    assert delegation.parse_config(["gridpg.distribution_argument=2", "gridpg.colocate_with=app.t"]) == \
        delegation.Delegation(2, "app.t")
    assert delegation.parse_config(["search_path=app"]) is None


def test_an_argument_a_column_hides_does_not_pin() -> None:
    sql = "CREATE FUNCTION app.f(id int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t WHERE id = id $$"
    routine = routines.Routine(9, "app", "f", "id integer", "sql", "f", sql)
    argument = delegation.Argument(1, "id", "f")
    reason = delegation.why_not_delegable(routines.routine_body(routine), argument, set(), _T, _SNAPSHOT,
                                          _resolve, ("app",), lambda t: ["id", "v"])
    assert reason is not None and "not pinned" in reason
    qualified = sql.replace("WHERE id = id", "WHERE id = f.id")
    routine = routines.Routine(9, "app", "f", "id integer", "sql", "f", qualified)
    assert delegation.why_not_delegable(routines.routine_body(routine), argument, set(), _T, _SNAPSHOT,
                                        _resolve, ("app",), lambda t: ["id", "v"]) is None
    other = sql.replace("WHERE id = id", "WHERE id = v")  # v is a column, not an argument
    routine = routines.Routine(9, "app", "f", "v integer", "sql", "f", other)
    assert delegation.why_not_delegable(routines.routine_body(routine), delegation.Argument(1, "v", "f"), set(),
                                        _T, _SNAPSHOT, _resolve, ("app",), lambda t: ["id", "v"]) is not None


def test_sub_select_calls_where_postgres_fdw_may_send_their_value() -> None:
    """`Access.sublinks`: the calls inside sub-selects in WHERE, ON, HAVING, ORDER BY,
    LIMIT and an UPDATE's SET (postgres_fdw computes those values for the remote statement),
    per statement with the relations it names; not a SELECT's output columns or VALUES."""
    def calls(sql: str) -> set[tuple[str | None, str]]:
        access = routines.statement_access(sqlparse.parse_tree(sql))
        return {call for _, found in access.all_sublinks() for call in found}

    assert calls("UPDATE t SET x = (SELECT f())") == {(None, "f")}
    assert calls("DELETE FROM t WHERE x = (SELECT s.f()) + 2") == {("s", "f")}
    assert calls("SELECT * FROM t JOIN u ON u.a = (SELECT f()) LIMIT (SELECT g())") == {(None, "f"), (None, "g")}
    assert calls("SELECT (SELECT max(a) FROM u WHERE b = (SELECT h())) FROM t") == {(None, "h")}
    assert calls("SELECT id, (SELECT f()) FROM t") == set()
    assert calls("INSERT INTO t VALUES (1, (SELECT f()))") == set()
    assert calls("SELECT f() FROM t WHERE x = 1") == set()
    access = routines.do_access("DECLARE v int; BEGIN UPDATE t SET x = (SELECT f()) + 1; v := g(); END", "plpgsql")
    assert [({r.name for r in rels}, found) for rels, found in access.all_sublinks()] == [({"t"}, {(None, "f")})]
    body = routines.routine_access(_plpgsql("BEGIN DELETE FROM t WHERE x = (SELECT f()); END"))
    assert [found for _, found in body.all_sublinks()] == [{(None, "f")}]


def test_c_functions_are_known_by_their_c_symbol() -> None:
    """A C function created under another name over tablefunc's crosstab runs a query
    given as text (dynamic SQL); one over spi's autoinc, refint, lo_manage or tcn acts on
    the server running it (unreadable: refused where it would run on a datanode)."""
    pivot = routines.Routine(5, "public", "my_pivot", "text", "c", "f", "", symbol="crosstab")
    assert routines.routine_access(pivot).blocker() is not None
    assert routines.routine_access(pivot).dynamic == "my_pivot(...)"
    stamp = routines.Routine(6, "public", "stamp", "", "c", "f", "", symbol="autoinc")
    assert "sequence" in (routines.routine_access(stamp).unreadable or "")
    plain = routines.Routine(7, "public", "moddatetime", "", "c", "f", "", symbol="moddatetime")
    assert routines.routine_access(plain).blocker() is None


def test_attribute_notation_counts_as_a_call_of_a_routine_taking_a_row() -> None:
    """`p.f` and `(p).f` are `f(p)` when f takes one row (misc.sql's `name(p.hobbies)`):
    unseen, code reading distributed tables ran node by node. A column of that name
    counts only when such a routine exists (`ref.note` in a function named note(int))."""
    access = routines.statement_access(sqlparse.parse_tree(
        "SELECT p.name, name(p.hobbies), (p).nhobs, (h.equip).kind FROM person p, hobby h"))
    assert {n for _, n in access.attribute_calls} >= {"name", "hobbies", "nhobs", "equip", "kind"}
    rows = frozenset({"hobbies", "nhobs"})
    assert routines.user_calls(access, frozenset({"hobbies", "nhobs", "note"}), rows) == {
        (None, "hobbies"), (None, "nhobs")}
    assert routines.user_calls(access, frozenset({"hobbies", "nhobs"})) == set()


def test_code_running_commands_on_roles_cannot_be_run() -> None:
    """Roles are per server and fire no DDL event: code's CREATE USER made the role on one
    catalog server only (multi_rls_join_distribution_key.sql:12, h-citus16)."""
    do = routines.do_access("BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'u') THEN "
                            "CREATE USER u; END IF; END", "plpgsql")
    assert "CREATE ROLE" in (do.blocker() or "")
    for statement, word in (("ALTER ROLE u PASSWORD 'x'", "ALTER ROLE"), ("ALTER ROLE u SET work_mem = '1MB'", "ALTER ROLE"),
                            ("DROP ROLE u", "DROP ROLE"), ("GRANT r TO u", "GRANT or REVOKE"),
                            ("ALTER ROLE u RENAME TO v", "ALTER ROLE")):
        access = routines.routine_access(_plpgsql(f"BEGIN {statement}; END"))
        assert word in (access.unreadable_reason() or ""), statement
    assert routines.routine_access(_plpgsql("BEGIN GRANT SELECT ON t TO u; END")).unreadable_reason() is None
    # the client's own statement is not code
    assert routines.statement_access(sqlparse.parse_tree("CREATE ROLE u")).blocker() is None
