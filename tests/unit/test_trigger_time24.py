"""The transaction-time reads of trigger functions as the datanodes and the twins get them
(sql/trigger_relation.py, h-trig24): each read of now() and its keyword forms becomes the
coordinator's instant from the `gridpg.xact_now` setting, the rest stays as written."""

from gridpg.sql.trigger_relation import _INSTANT, for_datanodes, pin_time_reads, rewrite_body
from gridpg.sql.parse import parse_tree


def test_calls_and_keywords_read_the_setting() -> None:
    body = ("BEGIN NEW.a := now(); NEW.b := pg_catalog.now(); NEW.c := transaction_timestamp(); "
            "NEW.d := CURRENT_TIMESTAMP; NEW.e := current_date; NEW.f := LOCALTIMESTAMP(2); RETURN NEW; END")
    out = rewrite_body(body)
    assert out is not None
    assert "now()" not in out.replace("pg_catalog.now() END", "")
    assert out.count(_INSTANT) == 6
    assert f"({_INSTANT}::pg_catalog.date)" in out
    assert f"({_INSTANT}::pg_catalog.timestamp(2))" in out
    assert "\n" not in out  # (error line numbers stay the body's)


def test_what_is_not_the_transaction_time_stays() -> None:
    body = ("DECLARE now timestamptz; BEGIN now := clock_timestamp(); NEW.s := statement_timestamp(); "
            "NEW.t := other.now(); NEW.u := 'now()'; RETURN NEW; END")
    assert rewrite_body(body) is None
    assert pin_time_reads(body) == body


def test_declared_tg_variable_still_gets_the_time() -> None:
    body = "DECLARE tg_table_name text := 'x'; BEGIN NEW.at := now(); RETURN NEW; END"
    out = rewrite_body(body)
    assert out is not None and "tg_table_name text := 'x'" in out and _INSTANT in out


def test_create_function_text_for_the_datanodes() -> None:
    sql = "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.at := now(); RETURN NEW; END'"
    out = for_datanodes(sql, parse_tree(sql))
    assert out is not None and "current_setting('gridpg.xact_now', true)" in out
    parse_tree(out)  # (still one valid statement)
    plain = "CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN extract(epoch FROM now()); END $$"
    assert for_datanodes(plain, parse_tree(plain)) is None  # (not a trigger function)
