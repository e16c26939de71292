"""sql/shadow_only.py: the marked remote names of a shadow whose table has inheritance
children, read back into ONLY and `tableoid` conditions (pure; the behaviour is proven
against PostgreSQL by tests/oracle/corpus/99_plpgsql26.sql)."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.sql.shadow_only import rewrite

OWN = '"gridpg_only:public".t'
KIDS = '"gridpg_children:public".t'
NOT_OWN = "t.tableoid <> CAST('public.t' AS pg_catalog.regclass)"


def test_text_without_marks_is_unchanged() -> None:
    sql = "DECLARE c1 CURSOR FOR SELECT a FROM public.t WHERE ((a > 1))"
    assert rewrite(sql) is sql


@pytest.mark.parametrize(("sql", "expected"), [
    (f"DECLARE c1 CURSOR FOR SELECT a FROM {OWN} WHERE ((a > 1))",
     "DECLARE c1 CURSOR FOR SELECT a FROM ONLY public.t WHERE a > 1"),
    (f"UPDATE {OWN} SET a = $1", "UPDATE ONLY public.t SET a = $1"),
    (f"DELETE FROM {OWN} WHERE ((a = $1))", "DELETE FROM ONLY public.t WHERE a = $1"),
    (f"INSERT INTO {OWN}(a) VALUES ($1)", "INSERT INTO public.t (a) VALUES ($1)"),
    (f"SELECT r1.a FROM ({OWN} r1 INNER JOIN public.u r2 ON (TRUE))",
     "SELECT r1.a FROM ONLY public.t AS r1 INNER JOIN public.u AS r2 ON TRUE"),
])
def test_the_shadows_own_rows_are_read_under_only(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


@pytest.mark.parametrize(("sql", "expected"), [
    (f"SELECT a, ctid FROM {KIDS} WHERE ((a > 1) OR (a < 0)) FOR UPDATE",
     f"SELECT a, ctid FROM public.t WHERE {NOT_OWN} AND (a > 1 OR a < 0) FOR UPDATE"),
    (f"UPDATE {KIDS} SET a = $1 WHERE ((a > 1) OR (a < 0))",
     f"UPDATE public.t SET a = $1 WHERE {NOT_OWN} AND (a > 1 OR a < 0)"),
    (f"DELETE FROM {KIDS}", f"DELETE FROM public.t WHERE {NOT_OWN}"),
    # a row postgres_fdw read before, by its row number: named by it alone
    (f"UPDATE {KIDS} SET a = $2 WHERE ctid = $1", "UPDATE public.t SET a = $2 WHERE ctid = $1"),
])
def test_the_childrens_rows_are_those_of_another_tableoid(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


def test_truncate_reaches_the_children_unless_only() -> None:
    assert rewrite(f"TRUNCATE {OWN} CONTINUE IDENTITY RESTRICT") == "TRUNCATE TABLE ONLY public.t"
    assert rewrite(f"TRUNCATE {OWN}, {KIDS}, public.u CONTINUE IDENTITY RESTRICT") == "TRUNCATE TABLE public.t, public.u"
    with pytest.raises(PgError) as info:  # the children's table alone: never sent by postgres_fdw
        rewrite(f"TRUNCATE {KIDS}")
    assert info.value.sqlstate == "0A000"
