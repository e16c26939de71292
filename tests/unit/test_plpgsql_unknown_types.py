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
