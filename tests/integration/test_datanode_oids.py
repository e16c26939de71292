"""Values a datanode computes differently from the client's server must never reach the
client silently (issue 12). OIDs: writes that would store or compare a datanode's OID as
the catalog's number are refused (0A000); names are stored, parameters read by value
(planner/catalog_oids.py). The answers by name are compared with plain PostgreSQL in
tests/oracle/corpus/99_datanode_oids.sql."""

from __future__ import annotations

import struct

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_writes_that_would_use_a_datanodes_oid_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {s}")
        conn.execute("CREATE TABLE dno (id int PRIMARY KEY, r regclass, o oid)")
        catalog_oid = conn.execute("SELECT 'dno'::regclass::oid").fetchone()[0]
        for sql in ("INSERT INTO dno (id, o) VALUES (1, 'dno'::regclass)",   # would store the node's number
                    f"INSERT INTO dno (id, r) VALUES (2, {catalog_oid})",     # the catalog's number read there
                    f"INSERT INTO dno (id, r) VALUES (2, '{catalog_oid}')",
                    "UPDATE dno SET o = to_regclass('dno') WHERE id = 1",
                    "DELETE FROM dno WHERE r::oid = o",
                    "INSERT INTO dno (id, o) SELECT id + 10, r FROM dno"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        conn.execute("INSERT INTO dno (id, r, o) VALUES (1, 'dno', %s)", (catalog_oid,))
        conn.execute("INSERT INTO dno (id, r) VALUES (%s, %s)", (2, "dno"))      # a parameter by value
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("INSERT INTO dno (id, r) VALUES (%s, %s)", (3, str(catalog_oid)))
        conn.execute("UPDATE dno SET r = 'dno'::regclass WHERE r = 'dno'::regclass AND id = 2")
        assert conn.execute("SELECT count(*) FROM dno WHERE o = 'dno'::regclass").fetchone() == (1,)
        assert conn.execute("SELECT id, r::oid = o FROM dno ORDER BY id").fetchall() == [(1, True), (2, None)]
        assert conn.execute("SELECT r::oid FROM dno WHERE id = %s", (2,)).fetchone() == (catalog_oid,)
        # the same from the other coordinator, whose catalog server numbers its own
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
            other.execute(f"SET search_path = {s}")
            mine = other.execute("SELECT 'dno'::regclass::oid").fetchone()[0]
            assert other.execute("SELECT r::oid FROM dno WHERE id = 2").fetchone() == (mine,)


def test_binary_results_carry_the_catalog_servers_oids(gridpg_cluster: Cluster, schema: str) -> None:
    """A regclass (regtype, regproc, their arrays) value in binary format is a number: the
    catalog server's, from any path (routed, multi-node, RETURNING, a cursor, a row limit)."""
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute(f"SET search_path = {s}")
        conn.execute("CREATE TABLE bno_other (a int)")
        conn.execute("CREATE FUNCTION bno_f(int) RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE TABLE bno (id int PRIMARY KEY, r regclass, ty regtype, p regproc)")
        conn.commit()
        conn.execute(f"SET search_path = {s}")
        conn.execute("INSERT INTO bno SELECT i, 'bno_other', 'bno_other', 'bno_f' FROM generate_series(1, 6) i")
        conn.commit()
        other, other_type, fn = conn.execute(
            "SELECT 'bno_other'::regclass::oid, 'bno_other'::regtype::oid, 'bno_f'::regproc::oid").fetchone()
        expected = (other, other_type, fn)
        cur = conn.cursor(binary=True)
        as_numbers = lambda row: tuple(int.from_bytes(v, "big") for v in row)  # noqa: E731
        for sql in ("SELECT r, ty, p FROM bno WHERE id = 1",                   # routed
                    "SELECT r, ty, p FROM bno WHERE id = %s",
                    "SELECT 'bno_other'::regclass, 'bno_other'::regtype, 'bno_f'::regproc FROM bno WHERE id = 2",
                    "SELECT r, ty, p FROM bno"):                                # every node
            rows = cur.execute(sql, (3,) if "%s" in sql else None).fetchall()
            assert rows and all(as_numbers(row) == expected for row in rows), sql
        arrays = cur.execute("SELECT ARRAY[r, r] FROM bno WHERE id = 4").fetchone()[0]
        assert [int.from_bytes(v, "big") for v in arrays] == [other, other]
        row = cur.execute("INSERT INTO bno VALUES (7, 'bno_other', 'int4', 'bno_f') RETURNING r, ty, p").fetchone()
        assert as_numbers(row) == (other, 23, fn)
        conn.rollback()
        conn.execute(f"SET search_path = {s}")
        with conn.cursor(name="bno_cursor", binary=True) as named:
            named.itersize = 2
            named.execute("SELECT r FROM bno ORDER BY id")
            assert [int.from_bytes(v, "big") for (v,) in named.fetchall()] == [other] * 6
        conn.rollback()


def _array_oids(value: bytes, composite: bool) -> set[int]:
    """The type OIDs a binary array names: its element type's, and with `composite` those
    of its elements' fields."""
    ndim, _flags, element = struct.unpack("!iiI", value[:12])
    found, count = {element}, 1
    for d in range(ndim):
        count *= struct.unpack("!i", value[12 + 8 * d:16 + 8 * d])[0]
    at = 12 + 8 * ndim
    for _ in range(count if ndim else 0):
        (size,) = struct.unpack("!i", value[at:at + 4])
        if size > 0 and composite:
            found |= _field_oids(value[at + 4:at + 4 + size])
        at += 4 + max(size, 0)
    return found


def _field_oids(value: bytes) -> set[int]:
    """The type OIDs of a binary composite's fields."""
    (fields,) = struct.unpack("!i", value[:4])
    found, at = set(), 4
    for _ in range(fields):
        oid, size = struct.unpack("!Ii", value[at:at + 8])
        found.add(oid)
        at += 8 + max(size, 0)
    return found


def test_binary_arrays_and_composites_name_the_catalog_servers_types(gridpg_cluster: Cluster, schema: str) -> None:
    """The binary form of an array names its element type by OID, a composite's the type
    of each field: an array of an enum or of a composite, a composite with an enum field
    (the manual's `inventory_item`, rowtypes.sgml) named the datanode's OIDs, and psycopg's
    binary loaders, which pick the element's loader by that OID, gave `[b'red', b'blue']`
    and raw bytes for a routed or multi-node read. They carry the catalog server's now."""
    from psycopg.types.composite import CompositeInfo, register_composite
    from psycopg.types.enum import EnumInfo, register_enum

    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {s}")
        conn.execute("CREATE TYPE bco_color AS ENUM ('red', 'green', 'blue')")
        conn.execute("CREATE TYPE inventory_item AS (name text, supplier_id integer, price numeric, c bco_color)")
        conn.execute("CREATE DOMAIN bco_colors AS bco_color[] CHECK (cardinality(VALUE) > 0)")
        conn.execute("CREATE TABLE on_hand (id int PRIMARY KEY, item inventory_item, count integer, "
                     "cs bco_color[], items inventory_item[], ds bco_colors)")
        conn.execute("INSERT INTO on_hand SELECT g, ROW('fuzzy dice', 42, 1.99, 'red')::inventory_item, 1000, "
                     "ARRAY['red', 'blue']::bco_color[], ARRAY[ROW('a', g, 1, 'green')::inventory_item], "
                     "ARRAY['green']::bco_color[] FROM generate_series(1, 6) g")
        oids = dict(conn.execute("SELECT typname, oid::int FROM pg_type WHERE typnamespace = %s::regnamespace",
                                 (s,)).fetchall())
        catalog = {oids["bco_color"], oids["inventory_item"], 23, 25, 1700}
        info = EnumInfo.fetch(conn, "bco_color")
        assert info is not None
        register_enum(info, conn)
        register_composite(CompositeInfo.fetch(conn, "inventory_item"), conn)
        color = info.enum
        for sql in ("SELECT item, cs, items, ds FROM on_hand WHERE id = 1",             # routed
                    "SELECT item, cs, items, ds FROM on_hand WHERE id = %s",
                    "SELECT item, cs, items, ds FROM on_hand WHERE id < 4",            # every node
                    "SELECT a.item, a.cs, b.items, b.ds FROM on_hand a JOIN on_hand b USING (id)"):
            cur = conn.cursor(binary=True)
            rows = cur.execute(sql, (2,) if "%s" in sql else None).fetchall()
            assert rows, sql
            for item, cs, items, ds in rows:
                assert cs == [color.red, color.blue], sql
                assert ds == [color.green], sql
                assert item.c == color.red and items[0].c == color.green, sql
            raw = conn.pgconn.exec_params(sql.replace("%s", "2").encode(), [], result_format=1)
            named: set[int] = set()
            for r in range(raw.ntuples):
                values = [bytes(raw.get_value(r, c)) for c in range(4)]
                named |= _field_oids(values[0]) | _array_oids(values[1], False)
                named |= _array_oids(values[2], True) | _array_oids(values[3], False)
            assert named <= catalog, (sql, named - catalog)
        row = conn.cursor(binary=True).execute(
            "INSERT INTO on_hand VALUES (7, ROW('x', 1, 2, 'blue')::inventory_item, 1, '{green}', NULL, '{red}') "
            "RETURNING item, cs, ds").fetchone()
        assert row[0].c == color.blue and row[1] == [color.green] and row[2] == [color.red]
        # COPY of the table in binary: each node's copy named its own OID (two in one file)
        with conn.cursor().copy("COPY on_hand (cs, item) TO STDOUT (FORMAT binary)") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        at, named = 19, set()
        while struct.unpack("!h", data[at:at + 2])[0] != -1:
            at += 2
            values = []
            for _ in range(2):
                (size,) = struct.unpack("!i", data[at:at + 4])
                values.append(data[at + 4:at + 4 + size])
                at += 4 + size
            named |= _array_oids(values[0], False) | _field_oids(values[1])
        assert named <= catalog, named - catalog
