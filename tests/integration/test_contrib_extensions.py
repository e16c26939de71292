"""What replaying the bundled contrib modules' own regression files found (h-contrib8).

* C trigger functions that act on the one server running them: spi's autoinc draws from
  that server's copy of a sequence (each datanode numbered rows from 1: duplicates,
  silently), refint's check_primary_key/check_foreign_key query the tables they name there,
  lo's lo_manage unlinks large objects on a datanode while they live on the catalog server,
  tcn's triggered_change_notification names the shard ("public.t_24") in its payload.
  A write that would fire one on a distributed table is refused (0A000), nothing written.
* COPY into a HASH table whose distribution values gridpg's own parser cannot read (a
  timestamptz without an offset, under the session's TimeZone; POSIX zones such as
  `GMT+3`, as btree_gist's timestamptz.data holds) went to the first node, which refused
  every value of another node's shards ("no partition of relation found for row"): now
  hashed by the catalog server under the session's settings, and found where lookups look.
"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _refused(conn: psycopg.Connection, sql: str) -> str:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    return info.value.sqlstate or ""


def test_c_triggers_that_act_on_their_own_server_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}, public")
        conn.execute(f"CREATE EXTENSION IF NOT EXISTS autoinc SCHEMA {schema}")
        conn.execute("CREATE SEQUENCE ai_seq")
        conn.execute("CREATE TABLE ai_items (id int PRIMARY KEY, price_on int4) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TRIGGER ai_serial BEFORE INSERT OR UPDATE ON ai_items FOR EACH ROW "
                     "EXECUTE PROCEDURE autoinc (price_on, ai_seq)")
        assert _refused(conn, "INSERT INTO ai_items SELECT g, 0 FROM generate_series(1, 10) g") == "0A000"
        assert _refused(conn, "INSERT INTO ai_items VALUES (1, NULL)") == "0A000"
        assert conn.execute("SELECT count(*) FROM ai_items").fetchone() == (0,)
        conn.execute("DROP TRIGGER ai_serial ON ai_items")
        conn.execute("INSERT INTO ai_items SELECT g, 0 FROM generate_series(1, 10) g")
        conn.execute(f"CREATE EXTENSION IF NOT EXISTS lo SCHEMA {schema}")
        conn.execute("CREATE TABLE lo_images (title text PRIMARY KEY, raster lo) DISTRIBUTE BY HASH (title)")
        conn.execute("CREATE TRIGGER lo_raster BEFORE UPDATE OR DELETE ON lo_images FOR EACH ROW "
                     "EXECUTE PROCEDURE lo_manage(raster)")
        conn.execute("INSERT INTO lo_images VALUES ('a', 43213)")
        assert _refused(conn, "UPDATE lo_images SET raster = 43214 WHERE title = 'a'") == "0A000"
        assert _refused(conn, "DELETE FROM lo_images") == "0A000"
        assert conn.execute("SELECT raster::oid::int FROM lo_images").fetchall() == [(43213,)]
        conn.execute(f"CREATE EXTENSION IF NOT EXISTS tcn SCHEMA {schema}")
        conn.execute("CREATE TABLE tcn_t (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TRIGGER tcn_t_notify AFTER INSERT OR UPDATE OR DELETE ON tcn_t FOR EACH ROW "
                     "EXECUTE FUNCTION triggered_change_notification()")
        conn.execute("LISTEN tcn")
        assert _refused(conn, "INSERT INTO tcn_t VALUES (1, 1), (2, 2)") == "0A000"
        assert conn.execute("SELECT count(*) FROM tcn_t").fetchone() == (0,)
        assert not list(conn.notifies(timeout=0.5, stop_after=1))


_VALUES = ["2020-01-10 10:00:00", "2020-01-11 10:00:00", "2020-01-12 23:30:00", "2020-01-13 00:00:01",
           "2018-12-18 10:59:54 GMT+3", "1997-11-16 06:01:36 GMT-2", "2010-04-02 01:21:20 GMT+2",
           "2019-09-21 05:54:01 GMT+6", "2021-03-28 02:30:00 Europe/Paris", "2022-07-01 12:00:00 PST",
           "epoch", "infinity", "-infinity", "2024-02-29", "2024-02-29 12:00:00.123456+05:30"]


def _copy_timestamps(dsn: str, schema: str, gridpg: bool) -> list[object]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("SET TimeZone TO 'America/Los_Angeles'")
        conn.execute("CREATE TABLE tz_events (at timestamptz, n int)"
                     + (" DISTRIBUTE BY HASH (at)" if gridpg else ""))
        data = "".join(f"{v}\t{i}\n" for i, v in enumerate(_VALUES * 3))
        with conn.cursor().copy("COPY tz_events FROM STDIN") as copy:
            copy.write(data)
        with conn.cursor().copy("COPY tz_events FROM STDIN (FORMAT csv)") as copy:
            copy.write("".join(f'"{v}",{i + 100}\n' for i, v in enumerate(_VALUES)))
        out: list[object] = [conn.execute("SELECT count(*), sum(n) FROM tz_events").fetchone()]
        for v in _VALUES:
            out.append(conn.execute("SELECT count(*), sum(n) FROM tz_events WHERE at = %s::timestamptz",
                                    (v,)).fetchone())
        conn.execute("SET TimeZone TO 'Asia/Tokyo'")
        with conn.cursor().copy("COPY tz_events FROM STDIN") as copy:
            copy.write("2020-01-10 10:00:00\t1000\n")
        out.append(conn.execute("SELECT n FROM tz_events WHERE at = '2020-01-10 01:00:00+00'").fetchall())
        return out


def test_copy_routes_values_only_postgresql_reads(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        want = _copy_timestamps(plain_pg, schema, False)
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    assert want[0] == (60, sum(range(45)) + sum(range(100, 115)))
    assert _copy_timestamps(gridpg_cluster.dsn(0), schema, True) == want
