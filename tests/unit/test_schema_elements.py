"""sql/schema_elements.py: a CREATE SCHEMA's elements as statements of their own."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.sql import schema_elements


def test_elements_in_postgresql_order_qualified_with_the_new_schema() -> None:
    split = schema_elements.split(
        "CREATE SCHEMA shop CREATE VIEW v AS WITH items AS (SELECT 1) SELECT * FROM items, orders "
        "CREATE TABLE orders (id int REFERENCES orders, n int DEFAULT nextval('ids')) "
        "CREATE INDEX ON orders (n) CREATE SEQUENCE ids GRANT SELECT ON orders TO PUBLIC")
    assert split is not None and split.head == "CREATE SCHEMA shop" and split.schema == "shop"
    assert split.statements("shop") == [
        "CREATE SEQUENCE shop.ids",
        "CREATE TABLE shop.orders (id integer REFERENCES shop.orders, n integer DEFAULT nextval('shop.ids'))",
        # a WITH query's name is not the schema's table
        "CREATE VIEW shop.v AS WITH items AS (SELECT 1) SELECT * FROM items, shop.orders",
        "CREATE INDEX ON shop.orders (n)",
        "GRANT SELECT ON TABLE shop.orders TO PUBLIC",
    ]


def test_authorization_names_the_schema_and_owns_the_elements() -> None:
    split = schema_elements.split("CREATE SCHEMA AUTHORIZATION joe CREATE TABLE t (a int)")
    assert split is not None and split.schema == "joe"
    assert split.statements("joe") == ["CREATE TABLE joe.t (a integer)", "ALTER TABLE joe.t OWNER TO joe"]
    current = schema_elements.split("CREATE SCHEMA AUTHORIZATION CURRENT_ROLE CREATE TABLE t (a int)")
    assert current is not None and current.schema is None  # the server names it
    assert current.statements("me") == ["CREATE TABLE me.t (a integer)"]


def test_an_element_in_another_schema_is_refused_and_other_statements_are_left() -> None:
    split = schema_elements.split("CREATE SCHEMA s CREATE TABLE other.t (a int)")
    assert split is not None
    with pytest.raises(PgError) as err:
        split.statements("s")
    assert err.value.sqlstate == "42P15"
    for sql in ("CREATE SCHEMA s", "CREATE SCHEMA IF NOT EXISTS s AUTHORIZATION joe", "SELECT 'create schema'",
                "/* c */ create table schema (a int)"):
        assert schema_elements.split(sql) is None
