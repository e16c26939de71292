"""sql/plpgsql.parse reads bodies whose types pglast's catalog-less parser does not know:
arrays of composites, enum/domain variables among INTO targets, schema-qualified declared
types; the embedded statements and their line numbers are the body's own."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.sql import plpgsql

DEFER = """CREATE FUNCTION defer(jobs job_spec[], n int[], m app.spec[][2]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    INSERT INTO jobs (task) SELECT (j).task FROM unnest(jobs) j;
    RETURN ids;
END $$"""

RETRY = """CREATE FUNCTION retry(job bigint) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    _status job_status;
    _abort boolean; _specs job_spec[]; s2 app.job_status NOT NULL := 'todo';
    r jobs;
BEGIN
    SELECT status, abort_requested FROM jobs WHERE id = job INTO _status, _abort;
    SELECT array_agg(x) FROM y INTO _specs;
    SELECT * INTO r FROM jobs WHERE id = job;
    IF _status = 'doing' AND r.id > 0 THEN
        UPDATE jobs SET status = 'failed' WHERE id = job;
    END IF;
    SELECT 1, 2 INTO _abort, s2;
END $f$"""


def test_array_of_an_unknown_type_as_parameter() -> None:
    sql = [e.sql for e in plpgsql.embedded_sql(DEFER)]
    assert sql == ["INSERT INTO jobs (task) SELECT (j).task FROM unnest(jobs) j"]


def test_unknown_scalar_types_among_into_targets_keep_records_and_lines() -> None:
    tree = plpgsql.parse(RETRY)
    sql = [e.sql for e in plpgsql.embedded_sql(RETRY)]
    assert "UPDATE jobs SET status = 'failed' WHERE id = job" in sql
    assert "SELECT status, abort_requested FROM jobs WHERE id = job" in sql
    text = str(tree)
    assert "'lineno': 11" in text  # the UPDATE's line: nothing moved
    # r reads fields (r.id): still a record
    assert "'refname': 'r'" in text and "PLpgSQL_rec" in text


def test_a_body_that_stays_unreadable_still_fails_with_42601() -> None:
    broken = "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN SELEC 1; END $$"
    with pytest.raises(PgError) as info:
        plpgsql.parse(broken)
    assert info.value.sqlstate == "42601"


def test_only_declarations_are_retyped() -> None:
    body = ("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ DECLARE a st; b int; BEGIN "
            "IF a = 'x' THEN b := 1; END IF; SELECT 1, 2 INTO a, b; END $$")
    retyped = plpgsql._readable(body, "record variable cannot be part of multiple-item INTO list")
    assert retyped == body.replace("a st;", "a text;")


def test_an_array_of_an_unknown_type_as_result() -> None:
    """`RETURNS uint2[]` (a domain, a composite) was refused as `_record`."""
    for returns, ret in (("uint2[]", "RETURN"), ("SETOF app.pair[]", "RETURN NEXT"), ("ordered_pair[][2]", "RETURN")):
        body = (f"CREATE FUNCTION f(x int2) RETURNS {returns} LANGUAGE plpgsql AS $$ BEGIN "
                f"{ret} array[x, x]; END $$")
        assert [e.sql for e in plpgsql.embedded_sql(body)] == ["SELECT array[x, x]"]


def test_an_array_of_a_row_type_variable() -> None:
    body = plpgsql.do_block_function(
        "DECLARE tg t%rowtype[]; n t.a%TYPE; BEGIN tg := array(SELECT t FROM t); RAISE NOTICE '%', tg; END")
    assert [e.sql for e in plpgsql.embedded_sql(body)] == ["SELECT  array(SELECT t FROM t)", "SELECT tg"]


def test_arrays_of_type_copies_in_every_spelling() -> None:
    """`v%TYPE ARRAY` (PostgreSQL 17's spellings of an array of a copied type, beside
    `v%TYPE[]`): the DO block of plpgsql_array.sql:91 was refused as unreadable."""
    body = plpgsql.do_block_function(
        "DECLARE v int; a v%type[]; b v%type array; c v%TYPE ARRAY[1]; d pg_catalog.pg_class%rowtype[]; "
        "BEGIN RAISE NOTICE '%', pg_typeof(b); END")
    assert [e.sql for e in plpgsql.embedded_sql(body)] == ["SELECT pg_typeof(b)"]


@pytest.mark.parametrize(("body", "sqlstate"), [
    ("DECLARE x constant int; BEGIN x := 42; END", "22005"),
    ("DECLARE x int NOT NULL; BEGIN RAISE NOTICE '%', x; END", "22004"),
    ("BEGIN d.c2.x = 1; END", "42601"),
    ("BEGIN RETURN 1; END", "42804"),
    ("BEGIN SELEC 1; END", "42601"),
    ("BEGIN RAISE NOTICE '% %', 1; END", "42601"),
])
def test_compile_errors_carry_postgresqls_sqlstate(body: str, sqlstate: str) -> None:
    """Errors of PL/pgSQL's grammar are PostgreSQL's answer for a DO block, with its code."""
    with pytest.raises(plpgsql.CompileError) as info:
        plpgsql.parse(plpgsql.do_block_function(body))
    assert info.value.sqlstate == sqlstate
    assert "cannot read" not in info.value.message


def test_fields_of_a_row_type_variable() -> None:
    """`s.f := ...` of a %ROWTYPE (or unknown composite) variable: pglast cannot see its
    fields ("not a known variable"); it is read as a record. An undeclared name or a scalar
    stays PostgreSQL's compile error."""
    body = ("CREATE FUNCTION f(i int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE r acc; s acc%ROWTYPE; "
            "t app.acc; BEGIN SELECT * INTO r FROM acc WHERE id = i; s := r; s.bal := s.bal * 2; "
            "t.id := 1; INSERT INTO acc SELECT s.*; RETURN s::text; END $$")
    assert "INSERT INTO acc SELECT s.*" in [e.sql for e in plpgsql.embedded_sql(body)]
    for wrong in ("DECLARE c int; BEGIN c.x = 1; END", "DECLARE c acc; BEGIN d.c2.x = 1; END"):
        with pytest.raises(plpgsql.CompileError):
            plpgsql.parse(plpgsql.do_block_function(wrong))
