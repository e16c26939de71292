"""gather.table_needs (h-small25): references PostgreSQL never reads (a degenerate grouping)
are gathered with `false`; attribute notation `x.f` of no column keeps whole rows."""

from __future__ import annotations

from gridpg.planner import analyze
from gridpg.planner.gather import Needs, table_needs
from gridpg.sql.parse import parse_tree

COLUMNS = {("s", "h"): ["a", "b"], ("s", "person"): ["name", "age"]}


def needs(sql: str) -> dict[str, Needs]:
    refs = {r.location: ("s", r.name) for r in analyze.relations(parse_tree(sql)) if ("s", r.name) in COLUMNS}
    return {key[1]: value for key, value in table_needs(sql, refs, COLUMNS).items()}


def test_degenerate_grouping_reads_no_rows() -> None:
    assert needs("SELECT 1 FROM h WHERE 1/a = 1 HAVING 1 < 2")["h"].filter == "false AND (1 / a = 1)"
    assert needs("SELECT 1 FROM (SELECT * FROM h WHERE 1/a = 1) s HAVING 1 < 2")["h"].filter.startswith("false")


def test_aggregates_or_group_by_read_rows() -> None:
    assert needs("SELECT count(*) FROM h WHERE 1/a = 1 HAVING 1 < 2")["h"].filter == "(1 / a = 1)"
    assert needs("SELECT a FROM h WHERE 1/a = 1 GROUP BY a HAVING 1 < 2")["h"].filter == "(1 / a = 1)"


def test_another_reference_still_reads_rows() -> None:
    assert needs("SELECT (SELECT a FROM h LIMIT 1) FROM h HAVING 1 < 2")["h"].filter is None


def test_attribute_notation_keeps_whole_rows() -> None:
    assert needs("SELECT p.name, (p.hobbies).name FROM person p")["person"].columns is None
    assert needs("SELECT p.name FROM person p")["person"].columns == ("name",)
