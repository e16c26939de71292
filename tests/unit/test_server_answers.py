"""Which answers the coordinator rewrites for the client's own server: binary OID columns
(executor/oid_results.py) and pg_settings' port (executor/server_settings.py)."""

from __future__ import annotations

from gridpg.executor import oid_results, server_settings
from gridpg.executor.dispatch import ExecRequest
from gridpg.pgwire import codec

_DESCRIPTION = codec.build_row_description([
    codec.Column("id", type_oid=23), codec.Column("r", type_oid=2205), codec.Column("rs", type_oid=2210),
    codec.Column("t", type_oid=25)])


def test_oid_columns_in_binary_are_found() -> None:
    sql = "SELECT id, r, rs, t FROM x"
    assert oid_results.oid_columns(sql, _DESCRIPTION, [1]) == {1: 2205, 2: 2210}
    assert oid_results.oid_columns(sql, _DESCRIPTION, [1, 0, 1, 1]) == {2: 2210}
    assert oid_results.oid_columns(sql, _DESCRIPTION, [0]) == {}
    assert oid_results.oid_columns(sql, _DESCRIPTION, []) == {}
    assert oid_results.oid_columns(sql, None, [1]) == {}
    assert oid_results.oid_columns(sql, _DESCRIPTION, [1, 1]) == {}  # the Bind's own error


def test_user_types_whose_binary_form_names_types_are_found() -> None:
    """Arrays of user types, composites and domains over them name types by OID in their
    binary form: the coordinator's set of them (read at each catalog reload) marks them."""
    description = codec.build_row_description([
        codec.Column("id", type_oid=23), codec.Column("cs", type_oid=40001), codec.Column("item", type_oid=40002),
        codec.Column("c", type_oid=40003), codec.Column("ints", type_oid=1007)])
    sql = "SELECT id, cs, item, c, ints FROM on_hand"
    user_types = frozenset({40001, 40002})
    assert oid_results.oid_columns(sql, description, [1], user_types) == {1: 40001, 2: 40002}
    assert oid_results.oid_columns(sql, description, [1, 0, 1, 1, 1], user_types) == {2: 40002}
    assert oid_results.oid_columns(sql, description, [1]) == {}
    assert oid_results.oid_columns(sql, description, [0], user_types) == {}


def test_statements_answered_by_the_catalog_server_are_left_alone() -> None:
    assert oid_results.oid_columns("FETCH 5 FROM c", _DESCRIPTION, [1]) == {}
    assert oid_results.oid_columns("SHOW ALL", _DESCRIPTION, [1]) == {}
    assert oid_results.oid_columns("UPDATE x SET r = 'y' RETURNING id, r, rs, t", _DESCRIPTION, [1]) \
        == {1: 2205, 2: 2210}


def test_pg_settings_is_read_with_the_coordinators_port() -> None:
    request = ExecRequest("SELECT setting FROM pg_settings s WHERE s.name = 'port'", simple=True)
    out = server_settings.with_coordinator_settings(request, 5434).sql
    assert out.startswith("SELECT setting FROM (SELECT name, CASE WHEN name = 'port' THEN '5434' ELSE"
                          " setting END AS setting, unit,")
    assert out.endswith("FROM pg_catalog.pg_settings) s WHERE s.name = 'port'")
    plain = server_settings.with_coordinator_settings(
        ExecRequest("SELECT * FROM pg_catalog.pg_settings", simple=True), 5434).sql
    assert plain.endswith("FROM pg_catalog.pg_settings) AS pg_settings")


def test_writes_and_other_relations_are_left_alone() -> None:
    for sql in ("UPDATE pg_settings SET setting = '8MB' WHERE name = 'work_mem'",
                "SELECT * FROM my.pg_settings", "SELECT 'pg_settings'"):
        request = ExecRequest(sql, simple=True)
        assert server_settings.with_coordinator_settings(request, 5434) is request
    assert server_settings.shows_all("show ALL") and not server_settings.shows_all("SHOW allow_x")
