"""Triggers the coordinator fires: the datanode guard, the firing SQL, the rewritten write
(planner/triggers.py, executor/triggers.py's pure helpers). No server."""

from __future__ import annotations

import pytest

from gridpg.catalog.model import DistTable
from gridpg.executor import triggers as fired
from gridpg.pgwire import codec
from gridpg.planner import triggers as tg
from gridpg.sql import parse as sqlparse

DEF = ("CREATE TRIGGER \"odd name\" AFTER INSERT OR UPDATE OF balance ON s.\"T\" FOR EACH ROW "
       "WHEN ((new.balance > (0)::numeric)) EXECUTE FUNCTION s.audit('a''b', 'EXECUTE FUNCTION x')")


def test_split_definition_reads_tokens_not_text() -> None:
    head, when, rest = tg.split_definition(DEF)
    assert head.endswith("FOR EACH ROW")
    assert when == "(new.balance > (0)::numeric)"
    assert rest == "EXECUTE FUNCTION s.audit('a''b', 'EXECUTE FUNCTION x')"
    head, when, rest = tg.split_definition(
        'CREATE TRIGGER st BEFORE TRUNCATE ON public."for each" FOR EACH STATEMENT EXECUTE FUNCTION f()')
    assert when is None and head.endswith("FOR EACH STATEMENT") and rest == "EXECUTE FUNCTION f()"


def test_guarded_definition_keeps_the_condition_and_carries_the_token() -> None:
    token = tg.new_token()
    text = tg.guarded_definition(DEF, token)
    assert tg.token_of(text) == token
    assert tg.token_of(DEF) is None
    tree = sqlparse.parse_tree(text)["CreateTrigStmt"]
    assert tree["trigname"] == "odd name" and not tree.get("replace")
    assert "(new.balance > (0)::numeric)" in text and text.endswith("'EXECUTE FUNCTION x')")
    replaced = sqlparse.parse_tree(tg.guarded_definition(DEF, token, replace=True))["CreateTrigStmt"]
    assert replaced["replace"] is True
    constraint = ("CREATE CONSTRAINT TRIGGER c AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED "
                  "FOR EACH ROW EXECUTE FUNCTION f()")
    assert "CREATE OR REPLACE CONSTRAINT TRIGGER" in tg.guarded_definition(constraint, token, replace=True)
    instead = "CREATE TRIGGER i INSTEAD OF INSERT ON v FOR EACH ROW EXECUTE FUNCTION f()"
    assert tg.guarded_definition(instead, token) == instead
    assert tg.skip_value([token, "0" * 16]) == f"gpskip_{token},gpskip_{'0' * 16}"


def test_fires_on_event_columns_and_enabled() -> None:
    row_after_update_of = tg.Trigger("a", 1, tg.ROW | tg.UPDATE | tg.INSERT, "O", DEF, ("balance",))
    assert row_after_update_of.fires_on("INSERT")
    assert row_after_update_of.fires_on("UPDATE", frozenset({"balance", "x"}))
    assert not row_after_update_of.fires_on("UPDATE", frozenset({"owner"}))
    assert not row_after_update_of.fires_on("DELETE")
    disabled = tg.Trigger("a", 1, tg.ROW | tg.INSERT, "D", DEF)
    assert not disabled.fires_on("INSERT")
    assert tg.Trigger("a", 1, tg.ROW | tg.INSERT, "A", DEF).fires_on("INSERT")


def test_fire_sql_passes_trigger_variables_and_when() -> None:
    trigger = tg.Trigger("odd name", 7, tg.ROW | tg.INSERT, "O", DEF, args=("a'b", 'q"x'))
    firing = tg.Firing(trigger, "f7_abc", 4242, "s", "T")
    sql = tg.fire_sql([firing], "INSERT", "AFTER", "ROW", 's."T"', "(1,it's)", None)
    tree = sqlparse.parse_tree(sql)  # one valid statement
    assert "SelectStmt" in tree
    assert "'(1,it''s)'::s.\"T\"" in sql and "NULL::s.\"T\"" in sql
    assert "CASE WHEN (new.balance > (0)::numeric) THEN" in sql
    literals = [n["A_Const"]["sval"]["sval"] for n in _walk(tree) if "A_Const" in n and "sval" in n["A_Const"]]
    assert '[0:1]={"a\'b","q\\"x"}' in literals
    assert "4242::oid" in sql and "'odd name'" in sql
    statement = tg.fire_sql([firing], "DELETE", "AFTER", "STATEMENT", 's."T"', None, None)
    assert "'[0:1]=" in statement and "'STATEMENT'" in statement


def _walk(node: object) -> list[dict]:
    out: list[dict] = []
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            out.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_walk(value))
    return out


def test_twin_sql_quotes_the_body() -> None:
    body = "BEGIN RETURN NEW; END $gridpg$"
    sql = tg.twin_sql(tg.twin_name(9, body, ""), body)
    assert "$gridpgx$" in sql
    assert sqlparse.node_type(sqlparse.parse_tree(sql)) == "CreateFunctionStmt"
    assert tg.twin_name(9, body, "") != tg.twin_name(9, body + " ", "")


def test_with_returning_adds_old_and_new_last() -> None:
    sql, user = fired.with_returning("UPDATE t SET v = 1 WHERE id = 2 -- note\n;", "UPDATE")
    assert user is None
    assert sql.startswith("UPDATE t SET v = 1 WHERE id = 2 RETURNING WITH (OLD AS gp_old, NEW AS gp_new)")
    sql, user = fired.with_returning("/* c */ DELETE FROM t WHERE id = 1 RETURNING id, v * 2 AS w;", "DELETE")
    assert user == 2
    tree = sqlparse.parse_tree(sql)["DeleteStmt"]["returningClause"]
    assert len(tree["exprs"]) == 4 and len(tree["options"]) == 2
    sql, user = fired.with_returning("UPDATE t SET v = v + 1 RETURNING old.v, new.v", "UPDATE")
    tree = sqlparse.parse_tree(sql)["UpdateStmt"]["returningClause"]
    assert user == 2 and len(tree["exprs"]) == 4 and not tree.get("options")


def test_split_output_strips_the_rows_columns() -> None:
    columns = [codec.Column("id", type_oid=23), codec.Column("gp_old"), codec.Column("gp_new")]
    captured = [codec.build_row_description(columns),
                codec.build_data_row([b"1", None, b"(1,x)"]),
                codec.build_data_row([b"2", b"(2,y)", b"(2,z)"]),
                codec.build_command_complete("UPDATE 2")]
    rows, out = fired._split_output(captured, 1, True)
    assert rows == [(None, "(1,x)"), ("(2,y)", "(2,z)")]
    assert codec.parse_row_description(out[0][5:])[0].name == "id" and len(codec.parse_row_description(out[0][5:])) == 1
    assert codec.parse_data_row(out[1][5:]) == [b"1"]
    rows, out = fired._split_output(captured, None, True)
    assert out == [codec.build_command_complete("UPDATE 2")] and len(rows) == 2


@pytest.mark.parametrize(("sql", "why"), [
    ("UPDATE t SET id = 2", None),  # AFTER ROW triggers only: rows may move
    ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 1", None),
    ("WITH a AS (SELECT 1) DELETE FROM t", None),  # (h-queue17: a WITH of SELECT entries)
    ("WITH a AS (DELETE FROM u RETURNING *) DELETE FROM t", "WITH"),
    ("DELETE FROM t RETURNING WITH (OLD AS o) o.id", "RETURNING WITH"),
    ("UPDATE t SET v = 1", None),
    ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", None),
])
def test_why_not_fired_here(sql: str, why: str | None) -> None:
    table = DistTable("s", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
    row = tg.Trigger("a", 1, tg.ROW | tg.INSERT | tg.UPDATE | tg.DELETE, "O", DEF)
    reason = fired.why_not_fired_here(sqlparse.parse_tree(sql), table, [row])
    assert (reason is None) if why is None else (why in (reason or ""))
    replicated = DistTable("s", "t", "replication", None, None, None, None, ("dn1", "dn2"))
    if "distribution column" not in (why or ""):  # (a replicated table has none)
        assert fired.why_not_fired_here(sqlparse.parse_tree(sql), replicated, [row]) == reason
    constraint = tg.Trigger("n", 1, tg.ROW | tg.INSERT, "O", DEF, constraint=True)
    assert fired.why_not_fired_here(sqlparse.parse_tree("INSERT INTO t VALUES (1)"), table, [constraint])
    transition = tg.Trigger("n", 1, tg.INSERT, "O", DEF, new_table="nt")
    assert transition.transition and fired.why_not_fired_here(
        sqlparse.parse_tree("INSERT INTO t VALUES (1)"), table, [transition]) is None


def test_moving_rows_with_before_update_triggers_is_refused() -> None:
    table = DistTable("s", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
    before = tg.Trigger("b", 1, tg.ROW | tg.BEFORE | tg.UPDATE, "O", DEF)
    moving = sqlparse.parse_tree("UPDATE t SET v = 1, id = id + 1")
    assert fired.moves_rows(moving, table) and not fired.moves_rows(sqlparse.parse_tree("UPDATE t SET v = 1"), table)
    assert "distribution column" in (fired.why_not_fired_here(moving, table, [before]) or "")


def test_upsert_with_row_transition_tables_is_refused() -> None:
    """Statement-level ones fire, each seeing its own event's rows (h-views27); row-level
    ones with transition tables stay refused."""
    table = DistTable("s", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
    transition = tg.Trigger("n", 1, tg.UPDATE | tg.ROW, "O", DEF, new_table="nt", old_table="ot")
    upsert = sqlparse.parse_tree("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 1, w = 2")
    assert "transition" in (fired.why_not_fired_here(upsert, table, [transition]) or "")
    statement = tg.Trigger("n", 1, tg.UPDATE, "O", DEF, new_table="nt", old_table="ot")
    assert fired.why_not_fired_here(upsert, table, [statement]) is None
    assert fired.upsert_targets(upsert) == frozenset({"v", "w"})
    assert fired.upsert_targets(sqlparse.parse_tree("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING")) is None


def test_target_relation_keeps_the_schema() -> None:
    assert fired.target_relation(sqlparse.parse_tree('UPDATE s."T" SET v = 1')) == ("s", "T")
    assert fired.target_relation(sqlparse.parse_tree("INSERT INTO t AS x VALUES (1)")) == (None, "t")
    assert fired.target_relation(sqlparse.parse_tree("TRUNCATE TABLE a.b")) == ("a", "b")


def test_statement_event() -> None:
    assert fired.statement_event(sqlparse.parse_tree("UPDATE t SET a = 1, b = 2")) == ("UPDATE", frozenset({"a", "b"}))
    assert fired.statement_event(sqlparse.parse_tree("DELETE FROM t")) == ("DELETE", None)
    assert fired.statement_event(sqlparse.parse_tree("SELECT 1")) is None


def test_replication_role_picks_the_triggers_postgresql_fires() -> None:
    """origin (and local): plain enabled and ENABLE ALWAYS triggers; replica: ENABLE ALWAYS
    and ENABLE REPLICA ones (a datanode fired the latter itself before)."""
    table = DistTable("s", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))
    origin = tg.Trigger("o", 1, tg.ROW | tg.INSERT, "O", DEF)
    always = tg.Trigger("a", 2, tg.ROW | tg.INSERT, "A", DEF)
    replica_only = tg.Trigger("r", 3, tg.ROW | tg.INSERT, "R", DEF)
    pairs = (("INSERT", origin), ("INSERT", always), ("INSERT", replica_only))
    firing = fired.TriggerFiring(table, "INSERT", 1, (), pairs, (), ())
    for settings in ({}, {"session_replication_role": "origin"}, {"session_replication_role": "local"}):
        assert fired._for_replication_role(firing, settings).after_row == pairs[:2]
    replica = fired._for_replication_role(firing, {"session_replication_role": "replica"})
    assert replica.after_row == pairs[1:]
    assert replica_only.fires_on("INSERT") and not tg.Trigger("d", 4, tg.ROW | tg.INSERT, "D", DEF).fires_on("INSERT")


def test_idle_trigger_functions_of_an_event() -> None:
    """A write is refused only for the triggers its event may fire (executor/routines.py)."""
    from gridpg.executor.routines import _idle_functions
    from gridpg.planner.triggers import DELETE, INSERT, ROW, UPDATE, Trigger

    on_insert = Trigger("a", 1, ROW | INSERT, "O", "")
    on_update_of_v = Trigger("b", 2, ROW | UPDATE, "O", "", ("v",))
    replica_delete = Trigger("c", 3, ROW | DELETE, "R", "")
    disabled_delete = Trigger("d", 4, ROW | DELETE, "D", "")
    shared = Trigger("e", 1, ROW | DELETE, "O", "")  # function 1 again, for DELETE
    triggers = (on_insert, on_update_of_v, replica_delete, disabled_delete)
    assert _idle_functions(triggers, [("DELETE", None)]) == {1, 2, 4}
    assert _idle_functions(triggers, [("UPDATE", frozenset({"w"}))]) == {1, 2, 3, 4}
    assert _idle_functions(triggers, [("UPDATE", frozenset({"v", "w"}))]) == {1, 3, 4}
    assert _idle_functions(triggers, [("INSERT", None), ("UPDATE", frozenset({"v"}))]) == {3, 4}
    assert _idle_functions((*triggers, shared), [("DELETE", None)]) == {2, 4}


def test_before_row_sql_for_update_and_delete() -> None:
    """The BEFORE ROW chain of a row-by-row UPDATE/DELETE (executor/row_writes.py): OLD and
    TG_OP passed, WHEN read on OLD and NEW, a DELETE's row let through by any non-NULL
    result, and the distribution column checked unchanged."""
    when = ("CREATE TRIGGER b BEFORE UPDATE ON s.t FOR EACH ROW WHEN ((old.v IS DISTINCT FROM new.v)) "
            "EXECUTE FUNCTION f()")
    trigger = tg.Trigger("b", 7, tg.ROW | tg.BEFORE | tg.UPDATE, "O", when)
    firing = tg.Firing(trigger, "f7_abc", 4242, "s", "t")
    sql = tg.before_row_sql([firing], "s.t", "(1,2)", "UPDATE", "(1,1)", ("id",))
    assert "SelectStmt" in sqlparse.parse_tree(sql)
    assert "'UPDATE'" in sql and "AS old" in sql and "AS new" in sql
    assert "(old.v IS DISTINCT FROM new.v)" in sql
    assert '(s1.v)."id" IS NOT DISTINCT FROM' in sql or "(s1.v).id IS NOT DISTINCT FROM" in sql
    delete = tg.Trigger("d", 8, tg.ROW | tg.BEFORE | tg.DELETE, "O", DEF.replace("INSERT", "DELETE"))
    sql = tg.before_row_sql([tg.Firing(delete, "f8_abc", 4242, "s", "t")], "s.t", None, "DELETE", "(1,1)")
    assert "SelectStmt" in sqlparse.parse_tree(sql)
    assert "f8_abc(NULL::s.t, '(1,1)'::s.t, 'DELETE'" in sql.replace('"', "")
    assert "IS NULL THEN NULL ELSE s0.v END" in sql and "AS new" not in sql


@pytest.mark.parametrize("definition,volatile", [
    ("CREATE OR REPLACE FUNCTION s.f(i integer)\n RETURNS integer\n LANGUAGE sql\n STABLE\nAS $function$ "
     "SELECT 1 $function$\n", False),
    ("CREATE OR REPLACE FUNCTION s.f()\n RETURNS integer\n LANGUAGE sql\n IMMUTABLE STRICT\nAS $function$ "
     "SELECT 1 $function$\n", False),
    ("CREATE OR REPLACE FUNCTION s.f()\n RETURNS integer\n LANGUAGE plpgsql\nAS $function$\n STABLE\n"
     "$function$\n", True),  # (the word in the body, not the header)
    ("", True),
])
def test_volatility_read_from_the_definition(definition: str, volatile: bool) -> None:
    from gridpg.executor.routines import is_volatile
    from gridpg.planner.routines import Routine

    assert is_volatile(Routine(1, "s", "f", "", "sql", "f", definition)) is volatile


def test_fire_sql_gives_when_the_rows_tableoid_only_where_it_reads_it() -> None:
    """(triggers.sql:214) WHEN (new.tableoid = old.tableoid) failed with 42703 when the
    coordinator fired the trigger; a WHEN not naming it keeps whole rows as they were."""
    reads = tg.Trigger("t", 7, tg.ROW | tg.UPDATE, "O",
                       "CREATE TRIGGER t AFTER UPDATE ON s.t FOR EACH ROW WHEN ((new.tableoid = old.tableoid)) "
                       "EXECUTE FUNCTION f()")
    sql = tg.fire_sql([tg.Firing(reads, "f7_abc", 4242, "s", "t")], "UPDATE", "AFTER", "ROW", "s.t", "(2)", "(1)")
    assert "SelectStmt" in sqlparse.parse_tree(sql)
    assert sql.count("4242::oid AS tableoid") == 2
    plain = tg.Trigger("t", 7, tg.ROW | tg.UPDATE, "O", DEF)
    sql = tg.fire_sql([tg.Firing(plain, "f7_abc", 4242, "s", "t")], "UPDATE", "AFTER", "ROW", "s.t", "(2)", "(1)")
    assert "AS tableoid" not in sql
