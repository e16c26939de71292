"""pgjdbc (Debian's libpostgresql-jdbc-java) against a coordinator: a small Java program,
compiled at test time, prints what it reads; the test checks its output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(120)

JAR = Path("/usr/share/java/postgresql.jar")

PROGRAM = r"""
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class GridpgJdbc {
    static void out(String s) { System.out.println(s); }

    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2], schema = args[3];
        boolean batch = args[4].equals("batch");
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("currentSchema", schema);
        props.setProperty("prepareThreshold", "3");
        try (Connection conn = DriverManager.getConnection(url, props)) {
            DatabaseMetaData md = conn.getMetaData();
            out("connected " + md.getDatabaseProductName());
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE jt (id int PRIMARY KEY, big bigint, n numeric(20,4), tx text,"
                    + " flag boolean, d date, ts timestamp, u uuid) DISTRIBUTE BY HASH (id)");
            }
            out("ddl ok");
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jt VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 5; i++) {
                    ps.setInt(1, i);
                    ps.setLong(2, 10000000000L * i);
                    ps.setBigDecimal(3, new BigDecimal(i + ".2500"));
                    ps.setString(4, "row " + i + " ü");
                    ps.setBoolean(5, i % 2 == 0);
                    ps.setDate(6, java.sql.Date.valueOf("2024-01-0" + i));
                    ps.setTimestamp(7, Timestamp.valueOf("2024-01-0" + i + " 12:34:56.789"));
                    ps.setObject(8, UUID.fromString("00000000-0000-0000-0000-00000000000" + i));
                    out("insert " + i + " " + ps.executeUpdate());
                }
                for (int i = 100; i < 150; i++) {
                    ps.setInt(1, i);
                    ps.setLong(2, i);
                    ps.setBigDecimal(3, BigDecimal.valueOf(i, 2));
                    ps.setString(4, "batch " + i);
                    ps.setBoolean(5, true);
                    ps.setNull(6, Types.DATE);
                    ps.setNull(7, Types.TIMESTAMP);
                    ps.setNull(8, Types.OTHER);
                    if (batch) ps.addBatch(); else ps.executeUpdate();
                }
                int[] counts = batch ? ps.executeBatch() : new int[] {};
                int sum = 0;
                for (int c : counts) sum += c;
                out("batch " + counts.length + " " + sum);
                if (batch) {  // several Bind/Execute before one Sync: check the rows and stop
                    try (Statement st = conn.createStatement();
                         ResultSet rs = st.executeQuery("SELECT count(*), sum(big) FROM jt WHERE id >= 100")) {
                        rs.next();
                        out("batch rows " + rs.getLong(1) + " " + rs.getLong(2));
                    }
                    return;
                }
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT id, big, n, tx, flag, d, ts, u FROM jt WHERE id = ?")) {
                for (int round = 0; round < 2; round++) {  // the second round uses server-prepared statements
                    for (int i = 1; i <= 5; i++) {
                        ps.setInt(1, i);
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                out("row " + rs.getInt(1) + "|" + rs.getLong(2) + "|" + rs.getBigDecimal(3) + "|"
                                    + rs.getString(4) + "|" + rs.getBoolean(5) + "|" + rs.getDate(6) + "|"
                                    + rs.getTimestamp(7) + "|" + rs.getObject(8));
                            }
                        }
                    }
                }
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*), sum(big), sum(n) FROM jt WHERE flag")) {
                rs.next();
                out("agg " + rs.getLong(1) + " " + rs.getLong(2) + " " + rs.getBigDecimal(3));
            }
            if (args[4].equals("autocommit")) {  // errors in autocommit mode, then stop
                for (String sql : new String[] {"INSERT INTO jt (id) VALUES (1)", "SELECT * FROM jt_no_such_table"}) {
                    try (PreparedStatement ps = conn.prepareStatement(sql)) {
                        ps.execute();
                        out("no error");
                    } catch (SQLException e) {
                        out("error " + e.getSQLState());
                    }
                }
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery("SELECT count(*) FROM jt")) {
                    rs.next();
                    out("final " + rs.getLong(1));
                }
                return;
            }
            // a transaction rolled back, then one committed
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("UPDATE jt SET tx = ? WHERE id = ?")) {
                ps.setString(1, "rolled back");
                ps.setInt(2, 1);
                ps.executeUpdate();
                ps.setString(1, "rolled back too");
                ps.setInt(2, 2);
                ps.executeUpdate();
                conn.rollback();
                ps.setString(1, "committed");
                ps.setInt(2, 3);
                ps.executeUpdate();
                conn.commit();
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT id, tx FROM jt WHERE id <= 3 ORDER BY id")) {
                while (rs.next()) out("after tx " + rs.getInt(1) + " " + rs.getString(2));
            }
            conn.commit();
            // a savepoint
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO jt (id, tx) VALUES (200, 'kept')");
                Savepoint sp = conn.setSavepoint();
                st.executeUpdate("INSERT INTO jt (id, tx) VALUES (201, 'undone')");
                conn.rollback(sp);
                conn.commit();
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM jt WHERE id >= 200")) {
                    rs.next();
                    out("savepoint " + rs.getLong(1));
                }
                conn.commit();
            }
            // an error with its SQLState; the connection is usable after the rollback
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jt (id) VALUES (?)")) {
                ps.setInt(1, 1);
                ps.executeUpdate();
                out("no error");
            } catch (SQLException e) {
                out("error " + e.getSQLState());
                conn.rollback();
            }
            try (Statement st = conn.createStatement()) {
                try {
                    st.executeQuery("SELECT * FROM jt_no_such_table");
                } catch (SQLException e) {
                    out("error " + e.getSQLState());
                    conn.rollback();
                }
            }
            // setFetchSize inside a transaction: a portal read in chunks (Execute with a row limit)
            for (String sql : new String[] {
                    "SELECT id FROM jt ORDER BY id",
                    "SELECT g FROM generate_series(1, 1000) g",
                    "SELECT id FROM jt WHERE id = 3"}) {
                try (PreparedStatement ps = conn.prepareStatement(sql)) {
                    ps.setFetchSize(7);
                    long n = 0, total = 0;
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) { n++; total += rs.getLong(1); }
                    }
                    out("fetch " + n + " " + total);
                }
                conn.commit();
            }
            conn.setAutoCommit(true);
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM jt")) {
                rs.next();
                out("final " + rs.getLong(1));
            }
        }
        out("done");
    }
}
"""


@pytest.fixture(scope="module")
def jdbc_jar() -> Path:
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac/java) installed")
    if not JAR.exists():
        try:
            subprocess.run(["apt-get", "update"], capture_output=True, timeout=120, check=True)
            subprocess.run(["apt-get", "install", "-y", "libpostgresql-jdbc-java"], capture_output=True,
                           timeout=180, check=True)
        except (subprocess.SubprocessError, OSError) as e:
            pytest.skip(f"libpostgresql-jdbc-java is not installed and could not be installed: {e}")
    if not JAR.exists():
        pytest.skip(f"{JAR} missing after installing libpostgresql-jdbc-java")
    return JAR


def run_program(jar: Path, tmp_path: Path, args: list[str]) -> list[str]:
    (tmp_path / "GridpgJdbc.java").write_text(PROGRAM)
    subprocess.run(["javac", "-cp", str(jar), "GridpgJdbc.java"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    proc = subprocess.run(["java", "-cp", f"{jar}:.", "GridpgJdbc", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc.stdout.splitlines()


def _url(gridpg_cluster: Cluster, coordinator: int) -> str:
    port = gridpg_cluster.dsn(coordinator).rsplit(":", 1)[1].split("/")[0]
    return f"jdbc:postgresql://127.0.0.1:{port}/postgres"


def test_pgjdbc_execute_batch(jdbc_jar: Path, gridpg_cluster: Cluster, poison_dsn: str, tmp_path: Path) -> None:
    schema = poison_dsn.rsplit("search_path%3D", 1)[1]
    lines = run_program(jdbc_jar, tmp_path, [_url(gridpg_cluster, 1), "postgres", gridpg_cluster.password(),
                                             schema, "batch"])
    assert lines[-2:] == ["batch 50 50", f"batch rows 50 {sum(range(100, 150))}"]


def test_pgjdbc_autocommit(jdbc_jar: Path, gridpg_cluster: Cluster, schema: str, tmp_path: Path) -> None:
    lines = run_program(jdbc_jar, tmp_path, [_url(gridpg_cluster, 0), "postgres", gridpg_cluster.password(),
                                             schema, "autocommit"])
    want_rows = [
        f"row {i}|{10000000000 * i}|{i}.2500|row {i} ü|{str(i % 2 == 0).lower()}|2024-01-0{i}|"
        f"2024-01-0{i} 12:34:56.789|00000000-0000-0000-0000-00000000000{i}"
        for i in range(1, 6)
    ]
    batch_n = sum(i / 100 for i in range(100, 150))
    assert lines == [
        "connected PostgreSQL", "ddl ok", *[f"insert {i} 1" for i in range(1, 6)], "batch 0 0",
        *want_rows, *want_rows,
        f"agg 52 {sum(range(100, 150)) + 20000000000 + 40000000000} {batch_n + 2.25 + 4.25:.4f}",
        "error 23505", "error 42P01", "final 55",
    ]


def test_pgjdbc_program(jdbc_jar: Path, gridpg_cluster: Cluster, poison_dsn: str, tmp_path: Path) -> None:
    """Transactions, savepoints, errors, setFetchSize (all rows inserted one by one)."""
    schema = poison_dsn.rsplit("search_path%3D", 1)[1]
    lines = run_program(jdbc_jar, tmp_path, [_url(gridpg_cluster, 1), "postgres", gridpg_cluster.password(),
                                             schema, "single"])
    want_rows = [
        f"row {i}|{10000000000 * i}|{i}.2500|row {i} ü|{str(i % 2 == 0).lower()}|2024-01-0{i}|"
        f"2024-01-0{i} 12:34:56.789|00000000-0000-0000-0000-00000000000{i}"
        for i in range(1, 6)
    ]
    batch_n = sum(i / 100 for i in range(100, 150))
    assert lines == [
        "connected PostgreSQL",
        "ddl ok",
        *[f"insert {i} 1" for i in range(1, 6)],
        "batch 0 0",
        *want_rows, *want_rows,
        f"agg 52 {sum(range(100, 150)) + 20000000000 + 40000000000} {batch_n + 2.25 + 4.25:.4f}",
        "after tx 1 row 1 ü", "after tx 2 row 2 ü", "after tx 3 committed",
        "savepoint 1",
        "error 23505",
        "error 42P01",
        f"fetch 56 {sum(range(1, 6)) + sum(range(100, 150)) + 200}",
        f"fetch 1000 {sum(range(1, 1001))}",
        "fetch 1 3",
        "final 56",
        "done",
    ]
