"""sql.trigger_relation: the TG_ relation variables of a trigger function as datanodes read them."""

from __future__ import annotations

from gridpg.planner.routines import reads_current_schema
from gridpg.sql import trigger_relation
from gridpg.sql.parse import parse_tree


def _datanode_text(sql: str) -> str | None:
    return trigger_relation.for_datanodes(sql, parse_tree(sql))


def test_each_relation_variable_is_read_through_the_shard_parent() -> None:
    sql = ("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
           "  INSERT INTO log VALUES (TG_TABLE_NAME, tg_relname, TG_TABLE_SCHEMA, TG_RELID, TG_OP);\n"
           "  RETURN NULL;\nEND $$")
    text = _datanode_text(sql)
    assert text is not None
    body = text[text.index("$gridpg$"):]
    assert "TG_TABLE_NAME" not in body and "tg_relname" not in body and "TG_TABLE_SCHEMA" not in body
    assert "TG_OP" in body and "gridpg_shards" in body
    assert text.count("\n") == sql.count("\n")  # error line numbers stay where they were
    assert parse_tree(text)["CreateFunctionStmt"]


def test_strings_qualified_names_assignments_and_other_functions_are_left_alone() -> None:
    untouched = [
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'TG_TABLE_NAME'; RETURN NEW; END $$",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.x := r.tg_table_name; RETURN NEW; END $$",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE tg_relid int; BEGIN RETURN NEW; END $$",
        "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'x'; END $$",
        "CREATE FUNCTION f(tg_table_name text) RETURNS text LANGUAGE sql AS $$ SELECT tg_table_name $$",
    ]
    for sql in untouched:
        assert _datanode_text(sql) is None, sql


def test_a_single_quoted_body_is_dollar_quoted_with_its_quotes_undoubled() -> None:
    sql = ("CREATE FUNCTION f() RETURNS trigger AS 'BEGIN NEW.note := ''by '' || TG_TABLE_NAME; RETURN NEW; END'"
           " LANGUAGE plpgsql")
    text = _datanode_text(sql)
    assert text is not None and "$gridpg$BEGIN NEW.note := 'by ' || (SELECT gp_c.relname" in text
    assert text.endswith("$gridpg$ LANGUAGE plpgsql")


def test_current_schema_reads_are_found_in_code_and_dynamic_strings() -> None:
    assert reads_current_schema("AS $$ BEGIN RETURN current_schema(); END $$")
    assert reads_current_schema("AS $$ BEGIN RETURN pg_catalog.current_schemas(true); END $$")
    assert reads_current_schema("AS $$ BEGIN EXECUTE 'SELECT current_schema()'; END $$")
    assert not reads_current_schema("AS $$ BEGIN RETURN 'x'; END $$")
    assert not reads_current_schema('AS $$ BEGIN RETURN "current_schema_x"; END $$')
