"""gridpg speaks UTF8 to its clients only. A client_encoding other than UTF8 was refused at
startup, but `SET client_encoding = 'LATIN1'` (or SET NAMES) was accepted, SHOW said
LATIN1, and nothing was converted: a client that then sent or read LATIN1 bytes had its
text misread with no error. It is refused now (0A000), the session going on in UTF8;
UTF8 under its other spellings is accepted as PostgreSQL accepts it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.mark.parametrize("statement", [
    "SET client_encoding = 'LATIN1'",
    "SET NAMES 'WIN1252'",
    "SET client_encoding TO sql_ascii",
    "SELECT set_config('client_encoding', 'LATIN1', false)",
])
def test_another_client_encoding_is_refused_and_the_session_stays_utf8(gridpg_cluster: Cluster, statement: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="client_encoding UTF8"):
            conn.execute(statement)
        assert conn.execute("SHOW client_encoding").fetchone() == ("UTF8",)
        assert conn.info.encoding == "utf-8"
        assert conn.execute("SELECT 'café'::text, length('café')").fetchone() == ("café", 4)


@pytest.mark.parametrize("spelling", ["UTF8", "utf-8", "Unicode", "DEFAULT"])
def test_utf8_under_any_spelling_is_accepted(gridpg_cluster: Cluster, spelling: str) -> None:
    value = spelling if spelling == "DEFAULT" else f"'{spelling}'"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET client_encoding = {value}")
        assert conn.execute("SHOW client_encoding").fetchone() == ("UTF8",)


def test_a_startup_encoding_other_than_utf8_ends_the_connection(gridpg_cluster: Cluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="client_encoding UTF8"):
        psycopg.connect(gridpg_cluster.dsn(0), client_encoding="LATIN1")
