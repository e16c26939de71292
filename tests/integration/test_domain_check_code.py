"""A domain whose CHECK calls a function reading a distributed table (`CREATE DOMAIN
country AS text CHECK (is_country(VALUE))`, the function reading a HASH table of
countries): a write to a table with a column of that domain ran the check on the
datanode holding the row, where the function sees that node's shards only: a value
accepted or refused by where the rows happen to live (silently wrong either way). The
guard did not see such a check (a domain's constraint belongs to no table); it is now a
check of every table with a column of the domain, refused as table CHECKs calling such
code are (0A000)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_domain_check_reading_a_distributed_table_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE countries (code text PRIMARY KEY, name text)")
        conn.execute("INSERT INTO countries SELECT 'c' || g, 'n' || g FROM generate_series(1, 40) g")
        conn.execute(f"CREATE FUNCTION is_country(c text) RETURNS bool LANGUAGE sql STABLE AS "
                     f"$$ SELECT EXISTS (SELECT 1 FROM \"{schema}\".countries WHERE code = c) $$")
        conn.execute("CREATE DOMAIN country AS text CHECK (is_country(VALUE))")
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, c country)")
        for sql in ("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 40) g",
                    "INSERT INTO customers VALUES (1, 'c1')", "UPDATE customers SET c = 'c2'"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
