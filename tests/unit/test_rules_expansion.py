"""planner/rules.py: the statements a write of a table with rules that write becomes
(their rows against PostgreSQL's: tests/oracle/corpus/99_rules_that_write.sql)."""

from __future__ import annotations

import json

import pytest

from gridpg.errors import PgError
from gridpg.planner.rules import expand, table_rules

COLUMNS = json.dumps([["id", "integer", None, False], ["v", "text", "'none'::text", False],
                      ["n", "integer", "nextval('s'::regclass)", False], ["g", "integer", None, True]])


def _rules(*definitions: str) -> object:
    rows = [("public", "t", f"r{i}", d, "O", COLUMNS) for i, d in enumerate(definitions)]
    return table_rules(rows)[("public", "t")]


def _expand(sql: str, *definitions: str) -> object:
    from pglast import parse_sql

    rules = _rules(*definitions)
    stmt = parse_sql(sql)[0].stmt
    event = type(stmt).__name__[:6].lower()
    return expand(stmt, rules, rules.firing(event), sql)


def test_rules_that_write_nothing_stay_off_the_coordinator() -> None:
    rows = [("public", "t", "quiet", "CREATE RULE quiet AS ON DELETE TO public.t DO INSTEAD NOTHING;", "O",
             COLUMNS)]
    assert table_rules(rows) == {}


def test_an_also_rule_on_insert_runs_after_the_insert_reading_its_values() -> None:
    out = _expand("INSERT INTO t (id) VALUES (1), (2)",
                  "CREATE RULE r0 AS ON INSERT TO public.t DO INSERT INTO public.log VALUES (new.id, new.v);")
    assert out.original == 0 and out.steps[0] == "INSERT INTO t (id) VALUES (1), (2)"
    action = out.steps[1]
    # NEW.v not given: its default, as PostgreSQL substitutes it, an item of the VALUES rows
    # (where a sequence call is the GTM's); NEW.n not read: its default not evaluated
    assert "FROM (VALUES (1, ('none'::text)::text), (2, ('none'::text)::text)) AS gp_rule_src(gp_s1, gp_s2)" \
        in action, action
    assert "nextval" not in action


def test_a_conditional_instead_rule_keeps_the_rows_it_does_not_take() -> None:
    out = _expand("INSERT INTO t VALUES (1, 'a'), (500, 'b')",
                  "CREATE RULE r0 AS ON INSERT TO public.t WHERE new.id >= 100 DO INSTEAD "
                  "INSERT INTO public.big VALUES (new.id);")
    assert out.original == 0
    assert out.steps[0].startswith("INSERT INTO t (id, v) SELECT gp_rule_src.gp_s1, gp_rule_src.gp_s2 FROM")
    assert "IS NOT TRUE" in out.steps[0]
    assert out.steps[1].endswith("WHERE CAST(gp_rule_src.gp_s1 AS integer) >= 100")


def test_update_rules_run_first_and_tag_from_the_last_instead_action() -> None:
    out = _expand("UPDATE t SET v = 'x' WHERE id = 1",
                  "CREATE RULE r0 AS ON UPDATE TO public.t DO INSTEAD "
                  "UPDATE public.u SET v = new.v WHERE u.id = old.id;")
    assert out.original is None and out.tag_step == 0 and len(out.steps) == 1
    assert "FROM t AS t WHERE id = 1" in out.steps[0]
    out = _expand("DELETE FROM t WHERE id = 1", "CREATE RULE r0 AS ON DELETE TO public.t DO INSTEAD NOTIFY gone;")
    assert out.original is None and out.tag_step is None and out.tag == "DELETE 0"


def test_returning_under_also_rules_is_the_originals() -> None:
    """DO ALSO rules only: the original runs as written, RETURNING and all (h-views27)."""
    out = _expand("INSERT INTO t VALUES (1) RETURNING id",
                  "CREATE RULE r0 AS ON INSERT TO public.t DO INSERT INTO public.log VALUES (new.id);")
    assert out.original == 0 and out.steps[0] == "INSERT INTO t VALUES (1) RETURNING id"


def test_unsupported_shapes_are_refused() -> None:
    also = "CREATE RULE r0 AS ON INSERT TO public.t DO INSERT INTO public.log VALUES (new.g);"
    with pytest.raises(PgError) as caught:  # an INSTEAD rule's RETURNING would stand for the original's
        _expand("INSERT INTO t VALUES (1) RETURNING id",
                "CREATE RULE r0 AS ON INSERT TO public.t DO INSTEAD INSERT INTO public.log VALUES (new.g);")
    assert caught.value.sqlstate == "0A000"
    for sql in ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "INSERT INTO t (id) VALUES (1)"):
        with pytest.raises(PgError) as caught:
            _expand(sql, also)
        assert caught.value.sqlstate == "0A000", sql
    with pytest.raises(PgError):
        _expand("INSERT INTO t (id) VALUES (1)",
                "CREATE RULE r0 AS ON INSERT TO public.t DO INSERT INTO public.log SELECT new.*;")


def test_an_action_setting_the_key_to_itself_leaves_it_out() -> None:
    from pglast import parse_sql

    rules = _rules("CREATE RULE r0 AS ON UPDATE TO public.t DO INSTEAD UPDATE public.d "
                   "SET id = new.id, v = new.v WHERE id = old.id;")
    sql = "UPDATE t SET v = 'x' WHERE id = 1"
    out = expand(parse_sql(sql)[0].stmt, rules, rules.firing("update"), sql, lambda _s, _n: "id")
    assert out.steps[0].startswith("UPDATE public.d SET v = "), out.steps[0]
    sql = "UPDATE t SET id = 2, v = 'x' WHERE id = 1"  # the key changes: kept
    out = expand(parse_sql(sql)[0].stmt, rules, rules.firing("update"), sql, lambda _s, _n: "id")
    assert out.steps[0].startswith("UPDATE public.d SET id = "), out.steps[0]


def test_values_map_to_every_column_in_order() -> None:
    """Without a column list the VALUES fill the table's columns in order, an identity or
    generated one included (its DEFAULT is no value a rule can read)."""
    out = _expand("INSERT INTO t VALUES (1, 'a', 7, DEFAULT)",
                  "CREATE RULE r0 AS ON INSERT TO public.t DO INSERT INTO public.log VALUES (new.id, new.v, new.n);")
    assert "gp_rule_src.gp_s3 AS integer" in out.steps[1] and "nextval" not in out.steps[1]
    with pytest.raises(PgError):
        _expand("INSERT INTO t VALUES (1, 'a', 7, DEFAULT)",
                "CREATE RULE r0 AS ON INSERT TO public.t DO INSERT INTO public.log VALUES (new.g);")
