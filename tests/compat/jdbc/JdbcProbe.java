// A pgjdbc probe: runs the same checks against any PostgreSQL-speaking server and prints
// one line per check ("name| result"), so the outputs of two servers can be diffed.
// Usage: java -cp postgresql.jar:. JdbcProbe host:port user password schema [xl]
// With "xl", a few tables get an explicit DISTRIBUTE BY clause (gridpg's syntax).

import java.io.*;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.*;
import java.time.*;
import java.util.*;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;
import org.postgresql.util.PGobject;

public class JdbcProbe {
    interface Body { Object run() throws Exception; }

    static String url, user, password, schema;
    static boolean xl;
    static Connection conn;

    static void out(String name, Object value) { System.out.println(name + "| " + value); }

    static void check(String name, Body body) {
        try {
            out(name, body.run());
        } catch (BatchUpdateException e) {
            out(name, "BATCH-ERR " + e.getSQLState() + " counts=" + Arrays.toString(e.getUpdateCounts())
                + " next=" + (e.getNextException() == null ? null : e.getNextException().getSQLState()));
        } catch (SQLException e) {
            String msg = String.valueOf(e.getMessage()).split("\n")[0];
            out(name, "ERR " + e.getSQLState() + " " + msg);
        } catch (Exception e) {
            out(name, "EXC " + e.getClass().getSimpleName() + " " + e.getMessage());
        }
        try {  // a failed check must not poison the next
            if (conn.isClosed()) { out(name + " (closed)", "reconnect"); conn = connect(); }
            if (!conn.getAutoCommit()) conn.rollback();
        } catch (SQLException e) {
            out(name + " (rollback)", "ERR " + e.getSQLState());
        }
    }

    static Connection connect(String... extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("currentSchema", schema);
        p.setProperty("ApplicationName", "jdbcprobe");
        for (String kv : System.getProperty("probe.props", "").split(",")) {  // e.g. preferQueryMode=simple
            if (kv.contains("=")) p.setProperty(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        for (int i = 0; i < extra.length; i += 2) p.setProperty(extra[i], extra[i + 1]);
        return DriverManager.getConnection(url, p);
    }

    static String rows(ResultSet rs, String... cols) throws SQLException {
        StringBuilder b = new StringBuilder();
        int n = 0;
        while (rs.next()) {
            if (n++ > 0) b.append(" ; ");
            for (int i = 0; i < cols.length; i++) {
                if (i > 0) b.append(",");
                b.append(rs.getString(cols[i]));
            }
        }
        rs.close();
        return "[" + n + "] " + b;
    }

    static String all(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        StringBuilder b = new StringBuilder();
        int n = 0;
        while (rs.next()) {
            if (n++ > 0) b.append(" ; ");
            for (int i = 1; i <= md.getColumnCount(); i++) {
                if (i > 1) b.append(",");
                b.append(rs.getString(i));
            }
        }
        rs.close();
        return "[" + n + "] " + b;
    }

    static String query(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            return all(st.executeQuery(sql));
        }
    }

    static void exec(String... sqls) throws SQLException {
        try (Statement st = conn.createStatement()) {
            for (String s : sqls) st.execute(s);
        }
    }

    static String dist(String clause) { return xl ? " " + clause : ""; }

    public static void main(String[] args) throws Exception {
        url = "jdbc:postgresql://" + args[0] + "/postgres";
        user = args[1];
        password = args[2];
        schema = args[3];
        xl = args.length > 4 && args[4].equals("xl");
        Properties p0 = new Properties();
        p0.setProperty("user", user);
        p0.setProperty("password", password);
        try (Connection c = DriverManager.getConnection(url, p0); Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            st.execute("CREATE SCHEMA " + schema);
        }
        conn = connect();
        schemaSetup();
        metadata();
        resultSetMetadata();
        prepared();
        batches();
        generatedKeys();
        cursors();
        transactions();
        callables();
        escapes();
        types();
        largeObjects();
        copy();
        updatable();
        multi();
        timeouts();
        tools();
        conn.close();
    }

    static void schemaSetup() {
        check("setup.customers", () -> { exec("CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL,"
            + " email varchar(100), created timestamptz DEFAULT now())"); return "ok"; });
        check("setup.orders", () -> { exec("CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int"
            + " REFERENCES customers (id), amount numeric(12,2), note text)"); return "ok"; });
        check("setup.items", () -> { exec("CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            + " sku text UNIQUE, price numeric(10,3), doubled numeric GENERATED ALWAYS AS (price * 2) STORED)"); return "ok"; });
        check("setup.events", () -> { exec("CREATE TABLE events (tenant int NOT NULL, id bigint NOT NULL, payload jsonb,"
            + " tags text[], u uuid, at timestamptz, PRIMARY KEY (tenant, id))" + dist("DISTRIBUTE BY HASH (tenant)")); return "ok"; });
        check("setup.countries", () -> { exec("CREATE TABLE countries (code char(2) PRIMARY KEY, name text)"
            + dist("DISTRIBUTE BY REPLICATION")); return "ok"; });
        check("setup.blobs", () -> { exec("CREATE TABLE blobs (id int PRIMARY KEY, data bytea, n numeric)"); return "ok"; });
        check("setup.plain", () -> { exec("CREATE TABLE nokey (a int, b text)" + dist("DISTRIBUTE BY ROUNDROBIN")); return "ok"; });
        check("setup.view", () -> { exec("CREATE VIEW big_orders AS SELECT o.id, c.name, o.amount FROM orders o"
            + " JOIN customers c ON c.id = o.customer_id WHERE o.amount > 100"); return "ok"; });
        check("setup.index", () -> { exec("CREATE INDEX orders_cust_idx ON orders (customer_id, amount DESC)",
            "CREATE INDEX events_at_idx ON events (at)"); return "ok"; });
        check("setup.seq", () -> { exec("CREATE SEQUENCE hibernate_seq START 1 INCREMENT 50"); return "ok"; });
        check("setup.rows", () -> {
            exec("INSERT INTO customers (name, email, created) VALUES ('ann', 'ann@x.org', '2024-01-01 10:00+00'),"
                + " ('bob', NULL, '2024-02-01 11:00+00'), ('cid', 'cid@x.org', '2024-03-01 12:00+00')",
                "INSERT INTO orders (customer_id, amount, note) SELECT 1 + g % 3, g * 12.5, 'n' || g FROM generate_series(1, 20) g",
                "INSERT INTO items (sku, price) VALUES ('a1', 1.5), ('b2', 2.25), ('c3', 1000.125)",
                "INSERT INTO events SELECT g % 4, g, jsonb_build_object('k', g), ARRAY['t' || g, NULL],"
                    + " ('00000000-0000-0000-0000-0000000000' || lpad(g::text, 2, '0'))::uuid,"
                    + " '2024-06-01 00:00+00'::timestamptz + g * interval '1 hour' FROM generate_series(1, 12) g",
                "INSERT INTO countries VALUES ('de', 'Germany'), ('fr', 'France')",
                "INSERT INTO nokey VALUES (1, 'x'), (2, 'y')");
            return "ok";
        });
        check("setup.functions", () -> {
            exec("CREATE FUNCTION order_total(cid int) RETURNS numeric LANGUAGE sql STABLE AS"
                    + " $$ SELECT coalesce(sum(amount), 0) FROM orders WHERE customer_id = cid $$",
                "CREATE FUNCTION order_stats(IN cid int, OUT n bigint, OUT total numeric) LANGUAGE sql AS"
                    + " $$ SELECT count(*), sum(amount) FROM orders WHERE customer_id = cid $$",
                "CREATE FUNCTION orders_of(cid int) RETURNS refcursor LANGUAGE plpgsql AS"
                    + " $$ DECLARE r refcursor; BEGIN OPEN r FOR SELECT id, amount FROM orders WHERE customer_id = cid ORDER BY id;"
                    + " RETURN r; END $$",
                "CREATE FUNCTION upper_name(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$",
                "CREATE PROCEDURE add_customer(nm text) LANGUAGE sql AS $$ INSERT INTO customers (name) VALUES (nm) $$",
                "CREATE PROCEDURE count_customers(INOUT n bigint) LANGUAGE plpgsql AS"
                    + " $$ BEGIN SELECT count(*) INTO n FROM customers; END $$",
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                "CREATE TYPE pair AS (x int, y text)",
                "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
                "COMMENT ON TABLE customers IS 'people who buy'",
                "COMMENT ON COLUMN customers.name IS 'full name'");
            return "ok";
        });
    }

    static void metadata() throws SQLException {
        DatabaseMetaData md = conn.getMetaData();
        check("md.product", () -> md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
        check("md.driver", () -> md.getDriverVersion() + " jdbc" + md.getJDBCMajorVersion());
        check("md.user", () -> md.getUserName());
        check("md.catalogs", () -> rows(md.getCatalogs(), "TABLE_CAT"));
        check("md.tabletypes", () -> rows(md.getTableTypes(), "TABLE_TYPE"));
        check("md.schemas", () -> rows(md.getSchemas(), "TABLE_SCHEM"));
        check("md.schemas.pattern", () -> rows(md.getSchemas(null, schema), "TABLE_SCHEM", "TABLE_CATALOG"));
        check("md.tables", () -> rows(md.getTables(null, schema, "%", null), "TABLE_NAME", "TABLE_TYPE", "REMARKS"));
        check("md.tables.hibernate", () -> rows(md.getTables(null, schema, "%", new String[] {"TABLE", "VIEW",
            "FOREIGN TABLE", "MATERIALIZED VIEW", "PARTITIONED TABLE"}), "TABLE_NAME", "TABLE_TYPE"));
        // every schema's "orders" but other tests' (the cluster may be shared): the probe's own,
        // and any of gridpg's (its shadows and scratch tables must not show)
        check("md.tables.allschemas", () -> {
            ResultSet rs = md.getTables(null, null, "orders", new String[] {"TABLE"});
            StringBuilder b = new StringBuilder();
            int n = 0;
            while (rs.next()) {
                String schem = rs.getString("TABLE_SCHEM");
                if (!schem.startsWith("jdbc_probe") && !schem.startsWith("gridpg") && !schem.startsWith("pg_")) continue;
                if (n++ > 0) b.append(" ; ");
                b.append(schem).append(",").append(rs.getString("TABLE_NAME"));
            }
            rs.close();
            return "[" + n + "] " + b;
        });
        check("md.tables.sequences", () -> rows(md.getTables(null, schema, "%", new String[] {"SEQUENCE"}), "TABLE_NAME"));
        check("md.tables.systemcount", () -> {
            ResultSet rs = md.getTables(null, "pg_catalog", "pg_c%", new String[] {"SYSTEM TABLE"});
            int n = 0;
            while (rs.next()) n++;
            return n;
        });
        for (String t : new String[] {"customers", "orders", "items", "events", "countries", "blobs", "nokey", "big_orders"}) {
            check("md.columns." + t, () -> rows(md.getColumns(null, schema, t, "%"), "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME",
                "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "COLUMN_DEF", "IS_AUTOINCREMENT", "IS_GENERATEDCOLUMN",
                "ORDINAL_POSITION", "REMARKS"));
            check("md.pk." + t, () -> rows(md.getPrimaryKeys(null, schema, t), "COLUMN_NAME", "KEY_SEQ", "PK_NAME"));
            check("md.index." + t, () -> rows(md.getIndexInfo(null, schema, t, false, false), "INDEX_NAME",
                "NON_UNIQUE", "TYPE", "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC", "FILTER_CONDITION"));
            check("md.bestrow." + t, () -> rows(md.getBestRowIdentifier(null, schema, t, DatabaseMetaData.bestRowSession, true),
                "COLUMN_NAME", "TYPE_NAME"));
            check("md.tableprivs." + t, () -> rows(md.getTablePrivileges(null, schema, t), "GRANTEE", "PRIVILEGE"));
        }
        check("md.index.unique", () -> rows(md.getIndexInfo(null, schema, "items", true, true), "INDEX_NAME", "COLUMN_NAME"));
        check("md.imported.orders", () -> rows(md.getImportedKeys(null, schema, "orders"), "PKTABLE_NAME", "PKCOLUMN_NAME",
            "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME", "DEFERRABILITY"));
        check("md.exported.customers", () -> rows(md.getExportedKeys(null, schema, "customers"), "PKTABLE_NAME",
            "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME", "PK_NAME"));
        check("md.crossref", () -> rows(md.getCrossReference(null, schema, "customers", null, schema, "orders"),
            "PKCOLUMN_NAME", "FKCOLUMN_NAME"));
        check("md.colprivs", () -> rows(md.getColumnPrivileges(null, schema, "customers", "%"), "COLUMN_NAME", "PRIVILEGE"));
        check("md.procedures", () -> rows(md.getProcedures(null, schema, "%"), "PROCEDURE_NAME", "PROCEDURE_TYPE"));
        check("md.procedurecols", () -> rows(md.getProcedureColumns(null, schema, "%", "%"), "PROCEDURE_NAME",
            "COLUMN_NAME", "COLUMN_TYPE", "TYPE_NAME"));
        check("md.functions", () -> rows(md.getFunctions(null, schema, "%"), "FUNCTION_NAME", "FUNCTION_TYPE"));
        check("md.functioncols", () -> rows(md.getFunctionColumns(null, schema, "%", "%"), "FUNCTION_NAME",
            "COLUMN_NAME", "COLUMN_TYPE", "TYPE_NAME"));
        check("md.typeinfo", () -> {
            ResultSet rs = md.getTypeInfo();
            int n = 0;
            StringBuilder b = new StringBuilder();
            while (rs.next()) {
                n++;
                String name = rs.getString("TYPE_NAME");
                if (name.equals("int4") || name.equals("numeric") || name.equals("mood") || name.equals("posint")
                    || name.equals("pair") || name.equals("jsonb") || name.equals("uuid"))
                    b.append(name).append(":").append(rs.getInt("DATA_TYPE")).append(":")
                        .append(rs.getInt("PRECISION")).append(" ");
            }
            return n + " " + b;
        });
        check("md.udts", () -> rows(md.getUDTs(null, schema, "%", null), "TYPE_NAME", "CLASS_NAME", "DATA_TYPE", "BASE_TYPE"));
        check("md.udts.distinct", () -> rows(md.getUDTs(null, schema, "%", new int[] {Types.DISTINCT}), "TYPE_NAME", "BASE_TYPE"));
        check("md.versioncols", () -> rows(md.getVersionColumns(null, schema, "customers"), "COLUMN_NAME"));
        check("md.pseudocols", () -> rows(md.getPseudoColumns(null, schema, "customers", "%"), "COLUMN_NAME"));
        check("md.supertables", () -> rows(md.getSuperTables(null, schema, "%"), "TABLE_NAME"));
        check("md.clientinfo", () -> rows(md.getClientInfoProperties(), "NAME"));
        check("md.supports", () -> md.supportsTransactions() + " " + md.supportsSavepoints() + " "
            + md.supportsBatchUpdates() + " " + md.supportsGetGeneratedKeys() + " " + md.supportsMultipleResultSets()
            + " " + md.supportsResultSetConcurrency(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)
            + " " + md.getDefaultTransactionIsolation() + " " + md.supportsStoredProcedures());
        check("md.identifiers", () -> md.getIdentifierQuoteString() + " " + md.storesLowerCaseIdentifiers() + " "
            + md.getSearchStringEscape() + " " + md.getMaxColumnNameLength() + " " + md.getMaxTableNameLength());
        check("md.keywords", () -> md.getSQLKeywords().length() + " " + md.getNumericFunctions().length() + " "
            + md.getStringFunctions().length());
        check("conn.schema", () -> conn.getSchema() + " " + conn.getCatalog());
        check("conn.isValid", () -> conn.isValid(2));
        check("conn.nativeSQL", () -> conn.nativeSQL("SELECT {fn ucase(x)} FROM t WHERE d = {d '2024-01-02'}"));
    }

    static String rsmd(ResultSetMetaData m) throws SQLException {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= m.getColumnCount(); i++) {
            b.append(i > 1 ? " ; " : "").append(m.getColumnName(i)).append("/").append(m.getColumnLabel(i))
                .append(" tbl=").append(m.getTableName(i)).append(" sch=").append(m.getSchemaName(i))
                .append(" t=").append(m.getColumnType(i)).append(":").append(m.getColumnTypeName(i))
                .append(" null=").append(m.isNullable(i)).append(" auto=").append(m.isAutoIncrement(i))
                .append(" p=").append(m.getPrecision(i)).append(",").append(m.getScale(i))
                .append(" ds=").append(m.getColumnDisplaySize(i)).append(" cls=").append(m.getColumnClassName(i))
                .append(" ro=").append(m.isReadOnly(i)).append(" cs=").append(m.isCaseSensitive(i));
        }
        return b.toString();
    }

    static void resultSetMetadata() {
        String[] sqls = {
            "SELECT * FROM customers",
            "SELECT * FROM orders",
            "SELECT * FROM items",
            "SELECT * FROM events",
            "SELECT * FROM countries",
            "SELECT * FROM nokey",
            "SELECT * FROM big_orders",
            "SELECT o.id AS order_id, c.name AS who, o.amount * 2 AS twice FROM orders o JOIN customers c ON c.id = o.customer_id",
            "SELECT customer_id, count(*) AS n, sum(amount) FROM orders GROUP BY customer_id",
            "SELECT e.tenant, e.payload->>'k' AS k FROM events e WHERE e.tenant = 1",
            "SELECT e.id, o.note, e.u FROM events e JOIN orders o ON o.id = e.tenant + 1 ORDER BY e.id",
            "WITH t AS (SELECT customer_id, amount FROM orders) SELECT t.customer_id, t.amount, rank() OVER (ORDER BY t.amount) FROM t",
            "SELECT id, (SELECT max(id) FROM events WHERE tenant = o.id) AS m FROM orders o ORDER BY id",
            "SELECT * FROM events UNION ALL SELECT * FROM events",
            "SELECT c.*, o.* FROM customers c LEFT JOIN orders o ON o.customer_id = c.id ORDER BY o.id",
            "SELECT countries.*, nokey.b FROM countries JOIN nokey ON nokey.a = length(countries.code)",
        };
        for (int i = 0; i < sqls.length; i++) {
            String sql = sqls[i];
            check("rsmd.stmt." + i, () -> {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql + " LIMIT 1")) {
                    return rsmd(rs.getMetaData());
                }
            });
            check("rsmd.prepared." + i, () -> {  // Describe before any execution
                try (PreparedStatement ps = conn.prepareStatement(sql)) {
                    ResultSetMetaData m = ps.getMetaData();
                    return m == null ? "null" : rsmd(m);
                }
            });
        }
        check("rsmd.params", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT * FROM orders WHERE customer_id = ? AND amount > ? AND note = ?")) {
                ParameterMetaData pm = ps.getParameterMetaData();
                StringBuilder b = new StringBuilder();
                for (int i = 1; i <= pm.getParameterCount(); i++)
                    b.append(pm.getParameterTypeName(i)).append(":").append(pm.getParameterType(i)).append(" ");
                return b.toString();
            }
        });
    }

    static String runPrepared(Connection c, String tag) throws SQLException {
        StringBuilder b = new StringBuilder();
        try (PreparedStatement ps = c.prepareStatement("SELECT o.id, o.amount, c.name, c.created FROM orders o JOIN customers c"
            + " ON c.id = o.customer_id WHERE o.id = ?")) {
            for (int i = 1; i <= 8; i++) {
                ps.setLong(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next())
                        b.append(rs.getLong(1)).append(",").append(rs.getBigDecimal(2)).append(",").append(rs.getString(3))
                            .append(",").append(rs.getObject(4, OffsetDateTime.class)).append(" ");
                }
            }
        }
        return b.toString();
    }

    static String typeRow(Connection c) throws SQLException {
        String sql = "SELECT 1::int2, 2::int4, 3::int8, 1.5::float4, 2.25::float8, 12345678901234567890.123456789::numeric,"
            + " true, 'txt'::text, 'vc'::varchar(5), 'ch'::char(3), '\\xdeadbeef'::bytea, '2024-02-29'::date, '12:34:56.5'::time,"
            + " '12:34:56+02'::timetz, '2024-02-29 12:34:56.123456'::timestamp, '2024-02-29 12:34:56.123456+05:30'::timestamptz,"
            + " '1 year 2 mons 3 days 04:05:06'::interval, '11111111-2222-3333-4444-555555555555'::uuid, '{\"a\": 1}'::json,"
            + " '{\"b\": [1, 2]}'::jsonb, ARRAY[1, 2, NULL]::int[], ARRAY['x', NULL, 'y,z']::text[], 26::oid, '10.0.0.1/8'::inet,"
            + " 'NaN'::numeric, '-Infinity'::float8, '(1,2)'::point, 'happy'::mood, ROW(1, 'a')::pair, ARRAY[[1,2],[3,4]],"
            + " 0.000001230::numeric, -99999999999999999999.99::numeric(22,2), '$1.50'::money, 'infinity'::timestamptz";
        StringBuilder b = new StringBuilder();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int round = 0; round < 2; round++) {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    ResultSetMetaData m = rs.getMetaData();
                    for (int i = 1; i <= m.getColumnCount(); i++) {
                        Object o = rs.getObject(i);
                        String s = o instanceof byte[] ? Arrays.toString((byte[]) o)
                            : o instanceof java.sql.Array ? Arrays.deepToString((Object[]) ((java.sql.Array) o).getArray())
                            : String.valueOf(o);
                        b.append(round == 0 ? "" : "").append(m.getColumnTypeName(i)).append("=").append(s).append(" ");
                    }
                    if (round == 0) b.append(" || ");
                }
            }
        }
        return b.toString();
    }

    static void prepared() throws SQLException {
        check("prep.default", () -> runPrepared(conn, "default"));
        check("prep.types.default", () -> typeRow(conn));
        Connection c1 = connect("prepareThreshold", "1");
        check("prep.threshold1", () -> runPrepared(c1, "t1"));
        check("prep.types.threshold1", () -> typeRow(c1));
        Connection cb = connect("prepareThreshold", "-1");
        check("prep.forcebinary", () -> runPrepared(cb, "bin"));
        check("prep.types.forcebinary", () -> typeRow(cb));
        check("prep.binary.events", () -> {
            try (PreparedStatement ps = cb.prepareStatement("SELECT tenant, id, payload, tags, u, at FROM events WHERE tenant = ? ORDER BY id")) {
                ps.setInt(1, 2);
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next())
                        b.append(rs.getInt(1)).append(",").append(rs.getLong(2)).append(",").append(rs.getString(3)).append(",")
                            .append(Arrays.toString((Object[]) rs.getArray(4).getArray())).append(",").append(rs.getObject(5))
                            .append(",").append(rs.getObject(6, OffsetDateTime.class)).append(" ");
                }
                return b.toString();
            }
        });
        check("prep.binary.arrays.all", () -> {
            try (PreparedStatement ps = cb.prepareStatement("SELECT tags, array_agg(id ORDER BY id) OVER (PARTITION BY tenant) FROM events ORDER BY id")) {
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next())
                        b.append(Arrays.toString((Object[]) rs.getArray(1).getArray())).append(Arrays.toString((Object[]) rs.getArray(2).getArray()));
                }
                return b.toString();
            }
        });
        check("prep.binary.params", () -> {
            try (PreparedStatement ps = cb.prepareStatement("SELECT ?::int + 1, ?::numeric * 2, ?::text || 'x', ?::timestamptz, ?::bytea, ?::uuid, ?::date")) {
                ps.setInt(1, 41);
                ps.setBigDecimal(2, new BigDecimal("1.23456789012345678901"));
                ps.setString(3, "ü");
                ps.setObject(4, OffsetDateTime.parse("2024-03-10T01:30:00-05:00"));
                ps.setBytes(5, new byte[] {0, 1, (byte) 255});
                ps.setObject(6, UUID.fromString("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
                ps.setObject(7, LocalDate.of(2000, 2, 29));
                return all(ps.executeQuery());
            }
        });
        check("prep.replan.after.ddl", () -> {
            try (PreparedStatement ps = c1.prepareStatement("SELECT * FROM nokey ORDER BY a")) {
                String a = all(ps.executeQuery());
                try (Statement st = c1.createStatement()) { st.execute("ALTER TABLE nokey ADD COLUMN c int DEFAULT 7"); }
                String b = all(ps.executeQuery());
                return a + " -> " + b;
            }
        });
        check("prep.many.statements", () -> {  // past the driver's statement cache (preparedStatementCacheQueries 256)
            long sum = 0;
            for (int i = 0; i < 300; i++) {
                try (PreparedStatement ps = c1.prepareStatement("SELECT id + " + i + " FROM customers WHERE id = ?")) {
                    ps.setInt(1, 1 + i % 3);
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); sum += rs.getLong(1); }
                }
            }
            return sum;
        });
        c1.close();
        cb.close();
    }

    static void batches() throws SQLException {
        for (String rewrite : new String[] {"false", "true"}) {
            Connection c = connect("reWriteBatchedInserts", rewrite);
            check("batch.prepared.rewrite=" + rewrite, () -> {
                try (Statement st = c.createStatement()) { st.execute("CREATE TABLE b_" + rewrite + " (id int PRIMARY KEY, v text, n numeric)"); }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO b_" + rewrite + " (id, v, n) VALUES (?, ?, ?)")) {
                    for (int i = 1; i <= 130; i++) {
                        ps.setInt(1, i);
                        ps.setString(2, "v" + i);
                        ps.setBigDecimal(3, BigDecimal.valueOf(i, 1));
                        ps.addBatch();
                    }
                    int[] counts = ps.executeBatch();
                    return counts.length + " " + Arrays.stream(counts).sum() + " " + query(c, "SELECT count(*), sum(n), min(v) FROM b_" + rewrite);
                }
            });
            check("batch.keys.rewrite=" + rewrite, () -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO customers (name) VALUES (?)", new String[] {"id", "name"})) {
                    for (int i = 0; i < 4; i++) { ps.setString(1, "batch" + rewrite + i); ps.addBatch(); }
                    int[] counts = ps.executeBatch();
                    return Arrays.toString(counts) + " " + rows(ps.getGeneratedKeys(), "name");
                }
            });
            check("batch.keys.hash.rewrite=" + rewrite, () -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (customer_id, amount, note) VALUES (?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                    for (int i = 0; i < 9; i++) { ps.setInt(1, 1 + i % 3); ps.setBigDecimal(2, BigDecimal.valueOf(i * 3 + 1)); ps.setString(3, "k" + rewrite + i); ps.addBatch(); }
                    int[] counts = ps.executeBatch();
                    StringBuilder b = new StringBuilder(Arrays.toString(counts));
                    try (ResultSet rs = ps.getGeneratedKeys()) {
                        while (rs.next()) b.append(" ").append(rs.getString("note")).append("=").append(rs.getInt("customer_id")).append("/").append(rs.getBigDecimal("amount"));
                    }
                    return b.toString();
                }
            });
            check("batch.fail.autocommit.rewrite=" + rewrite, () -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO b_" + rewrite + " (id, v) VALUES (?, ?)")) {
                    for (int i : new int[] {1001, 1002, 5, 1003}) { ps.setInt(1, i); ps.setString(2, "f"); ps.addBatch(); }
                    try {
                        ps.executeBatch();
                        return "no error";
                    } catch (BatchUpdateException e) {
                        return "BUE " + e.getSQLState() + " " + Arrays.toString(e.getUpdateCounts()) + " stayed="
                            + query(c, "SELECT count(*) FROM b_" + rewrite + " WHERE id > 1000");
                    }
                }
            });
            check("batch.fail.tx.rewrite=" + rewrite, () -> {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.addBatch("INSERT INTO b_" + rewrite + " (id, v) VALUES (2001, 'a')");
                    st.addBatch("UPDATE b_" + rewrite + " SET v = 'upd' WHERE id <= 3");
                    st.addBatch("INSERT INTO b_" + rewrite + " (id, v) VALUES (1, 'dup')");
                    st.addBatch("DELETE FROM b_" + rewrite + " WHERE id = 4");
                    try {
                        st.executeBatch();
                        return "no error";
                    } catch (BatchUpdateException e) {
                        c.rollback();
                        return "BUE " + e.getSQLState() + " " + Arrays.toString(e.getUpdateCounts()) + " "
                            + query(c, "SELECT count(*), count(*) FILTER (WHERE v = 'upd') FROM b_" + rewrite);
                    }
                } finally {
                    c.rollback();
                    c.setAutoCommit(true);
                }
            });
            check("batch.statement.rewrite=" + rewrite, () -> {
                try (Statement st = c.createStatement()) {
                    st.addBatch("UPDATE b_" + rewrite + " SET v = 'w' WHERE id < 10");
                    st.addBatch("DELETE FROM b_" + rewrite + " WHERE id > 120");
                    st.addBatch("INSERT INTO b_" + rewrite + " VALUES (500, 'z', 1), (501, 'z', 2)");
                    return Arrays.toString(st.executeBatch()) + " " + query(c, "SELECT count(*), count(*) FILTER (WHERE v = 'w') FROM b_" + rewrite);
                }
            });
            check("batch.events.rewrite=" + rewrite, () -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (tenant, id, payload, tags) VALUES (?, ?, ?::jsonb, ?)")) {
                    for (int i = 0; i < 10; i++) {
                        ps.setInt(1, i % 3);
                        ps.setLong(2, 100 + i + (rewrite.equals("true") ? 100 : 0));
                        ps.setString(3, "{\"b\": " + i + "}");
                        ps.setArray(4, c.createArrayOf("text", new String[] {"x" + i}));
                        ps.addBatch();
                    }
                    return Arrays.toString(ps.executeBatch()) + " " + query(c, "SELECT tenant, count(*) FROM events GROUP BY 1 ORDER BY 1");
                }
            });
            c.close();
        }
    }

    static void generatedKeys() {
        check("keys.return_generated", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO orders (customer_id, amount) VALUES (2, 7.5)", Statement.RETURN_GENERATED_KEYS);
                return rows(st.getGeneratedKeys(), "customer_id", "amount", "note");
            }
        });
        check("keys.prepared.columns", () -> {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO items (sku, price) VALUES (?, ?)", new String[] {"id", "doubled"})) {
                ps.setString(1, "d4");
                ps.setBigDecimal(2, new BigDecimal("3.333"));
                int n = ps.executeUpdate();
                return n + " " + rows(ps.getGeneratedKeys(), "id", "doubled");
            }
        });
        check("keys.prepared.all", () -> {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO countries VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                ps.setString(1, "it");
                ps.setString(2, "Italy");
                ps.executeUpdate();
                return all(ps.getGeneratedKeys());
            }
        });
        check("keys.update", () -> {
            try (PreparedStatement ps = conn.prepareStatement("UPDATE customers SET email = ? WHERE id = ?", new String[] {"id", "email"})) {
                ps.setString(1, "bob@x.org");
                ps.setInt(2, 2);
                int n = ps.executeUpdate();
                return n + " " + all(ps.getGeneratedKeys());
            }
        });
        check("keys.sequence.hibernate", () -> query(conn, "SELECT nextval('hibernate_seq'), nextval('hibernate_seq')"));
        check("keys.insert.sequence", () -> {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO nokey (a, b) VALUES (nextval('hibernate_seq'), ?)", new String[] {"a"})) {
                ps.setString(1, "s");
                ps.executeUpdate();
                return all(ps.getGeneratedKeys());
            }
        });
    }

    static void cursors() {
        check("cursor.tx.fetchsize", () -> {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("SELECT id, amount FROM orders ORDER BY id")) {
                ps.setFetchSize(3);
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) { while (rs.next()) b.append(rs.getLong(1)).append(":").append(rs.getBigDecimal(2)).append(" "); }
                return b.toString();
            } finally { conn.commit(); conn.setAutoCommit(true); }
        });
        check("cursor.tx.unordered", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(4);
                long n = 0, sum = 0;
                try (ResultSet rs = st.executeQuery("SELECT id FROM events")) { while (rs.next()) { n++; sum += rs.getLong(1); } }
                return n + " " + sum;
            } finally { conn.commit(); conn.setAutoCommit(true); }
        });
        check("cursor.tx.join.interleaved", () -> {
            conn.setAutoCommit(false);
            try (PreparedStatement a = conn.prepareStatement("SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id");
                 PreparedStatement u = conn.prepareStatement("UPDATE orders SET note = note || '!' WHERE id = ?")) {
                a.setFetchSize(5);
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = a.executeQuery()) {
                    while (rs.next()) {
                        b.append(rs.getLong(1)).append(rs.getString(2)).append(" ");
                        if (rs.getLong(1) % 7 == 0) { u.setLong(1, rs.getLong(1)); u.executeUpdate(); }
                    }
                }
                conn.commit();
                return b + query(conn, "SELECT count(*) FROM orders WHERE note LIKE '%!'");
            } finally { conn.setAutoCommit(true); }
        });
        check("cursor.autocommit.fetchsize", () -> {
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(2);
                return all(st.executeQuery("SELECT id FROM customers ORDER BY id"));
            }
        });
        check("cursor.maxrows", () -> {
            try (Statement st = conn.createStatement()) {
                st.setMaxRows(3);
                return all(st.executeQuery("SELECT id FROM orders ORDER BY id"));
            }
        });
        check("cursor.scrollable", () -> {
            try (Statement st = conn.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_READ_ONLY)) {
                ResultSet rs = st.executeQuery("SELECT id FROM customers ORDER BY id");
                rs.last();
                String s = rs.getRow() + ":" + rs.getInt(1);
                rs.absolute(2);
                s += " " + rs.getInt(1);
                rs.beforeFirst();
                rs.next();
                return s + " " + rs.getInt(1);
            }
        });
    }

    static void transactions() throws SQLException {
        check("tx.rollback", () -> {
            conn.setAutoCommit(false);
            exec("INSERT INTO countries VALUES ('es', 'Spain')");
            conn.rollback();
            exec("INSERT INTO countries VALUES ('pt', 'Portugal')");
            conn.commit();
            conn.setAutoCommit(true);
            return query(conn, "SELECT code FROM countries ORDER BY code");
        });
        check("tx.savepoints", () -> {
            conn.setAutoCommit(false);
            exec("INSERT INTO events (tenant, id) VALUES (1, 900)");
            Savepoint s1 = conn.setSavepoint("s1");
            exec("INSERT INTO events (tenant, id) VALUES (2, 901)");
            Savepoint s2 = conn.setSavepoint();
            exec("INSERT INTO events (tenant, id) VALUES (3, 902)");
            conn.rollback(s2);
            try { exec("INSERT INTO events (tenant, id) VALUES (1, 900)"); } catch (SQLException e) { conn.rollback(s1); }
            exec("INSERT INTO events (tenant, id) VALUES (0, 903)");
            conn.releaseSavepoint(s1);
            conn.commit();
            conn.setAutoCommit(true);
            return query(conn, "SELECT tenant, id FROM events WHERE id >= 900 ORDER BY id");
        });
        check("tx.autosave", () -> {
            try (Connection c = connect("autosave", "always")) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("INSERT INTO countries VALUES ('nl', 'Netherlands')");
                    try { st.execute("INSERT INTO countries VALUES ('nl', 'again')"); } catch (SQLException e) { }
                    st.execute("INSERT INTO countries VALUES ('be', 'Belgium')");
                }
                c.commit();
                return query(c, "SELECT code FROM countries WHERE code IN ('nl', 'be') ORDER BY 1");
            }
        });
        check("tx.error.aborted", () -> {
            conn.setAutoCommit(false);
            try { exec("SELECT 1/0"); } catch (SQLException e) { }
            try { exec("SELECT 1"); return "no error"; } catch (SQLException e) { return e.getSQLState(); }
        });
        check("tx.readonly", () -> {
            conn.setReadOnly(true);
            try {
                conn.setAutoCommit(false);
                String s = query(conn, "SHOW transaction_read_only") + " " + query(conn, "SELECT count(*) FROM orders");
                try { exec("INSERT INTO nokey VALUES (9, 'ro')"); s += " write ok"; } catch (SQLException e) { s += " " + e.getSQLState(); }
                return s;
            } finally { conn.rollback(); conn.setAutoCommit(true); conn.setReadOnly(false); }
        });
        check("tx.readonly.autocommit", () -> {
            try (Connection c = connect("readOnlyMode", "always")) {
                c.setReadOnly(true);
                String s = query(c, "SHOW transaction_read_only");
                try (Statement st = c.createStatement()) { st.execute("INSERT INTO nokey VALUES (9, 'ro')"); s += " write ok"; }
                catch (SQLException e) { s += " " + e.getSQLState(); }
                return s;
            }
        });
        for (int level : new int[] {Connection.TRANSACTION_READ_COMMITTED, Connection.TRANSACTION_REPEATABLE_READ,
                Connection.TRANSACTION_SERIALIZABLE, Connection.TRANSACTION_READ_UNCOMMITTED}) {
            check("tx.isolation." + level, () -> {
                conn.setTransactionIsolation(level);
                conn.setAutoCommit(false);
                try {
                    return conn.getTransactionIsolation() + " " + query(conn, "SHOW transaction_isolation") + " "
                        + query(conn, "SELECT count(*) FROM customers");
                } finally { conn.commit(); conn.setAutoCommit(true); conn.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED); }
            });
        }
        check("tx.repeatable.read.sees.snapshot", () -> {
            try (Connection other = connect()) {
                conn.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                conn.setAutoCommit(false);
                String a = query(conn, "SELECT count(*) FROM orders");
                try (Statement st = other.createStatement()) { st.execute("INSERT INTO orders (customer_id, amount) VALUES (3, 1)"); }
                String b = query(conn, "SELECT count(*) FROM orders");
                conn.commit();
                String c = query(conn, "SELECT count(*) FROM orders");
                return a + " " + b + " " + c;
            } finally { conn.setAutoCommit(true); conn.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED); }
        });
        check("tx.serializable.conflict", () -> {
            exec("CREATE TABLE ser_t (id serial PRIMARY KEY, g int)", "INSERT INTO ser_t (g) SELECT g % 2 FROM generate_series(1, 10) g");
            try (Connection a = connect(); Connection b = connect()) {
                a.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
                b.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
                a.setAutoCommit(false);
                b.setAutoCommit(false);
                String ra = query(a, "SELECT count(*) FROM ser_t WHERE g = 1");
                String rb = query(b, "SELECT count(*) FROM ser_t WHERE g = 0");
                try (Statement s = a.createStatement()) { s.execute("INSERT INTO ser_t (g) VALUES (0)"); }
                try (Statement s = b.createStatement()) { s.execute("INSERT INTO ser_t (g) VALUES (1)"); }
                String r = "";
                try { a.commit(); r += "a ok"; } catch (SQLException e) { r += "a " + e.getSQLState(); }
                try { b.commit(); r += " b ok"; } catch (SQLException e) { r += " b " + e.getSQLState(); }
                return r;
            }
        });
    }

    static void callables() {
        check("call.function.return", () -> {
            try (CallableStatement cs = conn.prepareCall("{? = call order_total(?)}")) {
                cs.registerOutParameter(1, Types.NUMERIC);
                cs.setInt(2, 1);
                cs.execute();
                return cs.getBigDecimal(1);
            }
        });
        check("call.function.out", () -> {
            try (CallableStatement cs = conn.prepareCall("{call order_stats(?, ?, ?)}")) {
                cs.setInt(1, 2);
                cs.registerOutParameter(2, Types.BIGINT);
                cs.registerOutParameter(3, Types.NUMERIC);
                cs.execute();
                return cs.getLong(2) + " " + cs.getBigDecimal(3);
            }
        });
        check("call.function.immutable", () -> {
            try (CallableStatement cs = conn.prepareCall("{? = call upper_name(?)}")) {
                cs.registerOutParameter(1, Types.VARCHAR);
                cs.setString(2, "abc");
                cs.execute();
                return cs.getString(1);
            }
        });
        check("call.refcursor", () -> {
            conn.setAutoCommit(false);
            try (CallableStatement cs = conn.prepareCall("{? = call orders_of(?)}")) {
                cs.registerOutParameter(1, Types.REF_CURSOR);
                cs.setInt(2, 3);
                cs.execute();
                ResultSet rs = (ResultSet) cs.getObject(1);
                return all(rs);
            } finally { conn.commit(); conn.setAutoCommit(true); }
        });
        check("call.refcursor.other", () -> {
            conn.setAutoCommit(false);
            try (CallableStatement cs = conn.prepareCall("{? = call orders_of(?)}")) {
                cs.registerOutParameter(1, Types.OTHER);
                cs.setInt(2, 1);
                cs.execute();
                return all((ResultSet) cs.getObject(1));
            } finally { conn.commit(); conn.setAutoCommit(true); }
        });
        check("call.procedure", () -> {
            try (CallableStatement cs = conn.prepareCall("call add_customer(?)")) {
                cs.setString(1, "dan");
                cs.execute();
                return query(conn, "SELECT count(*) FROM customers WHERE name = 'dan'");
            }
        });
        check("call.procedure.escape", () -> {
            try (CallableStatement cs = conn.prepareCall("{call add_customer(?)}")) {
                cs.setString(1, "eve");
                cs.execute();
                return query(conn, "SELECT count(*) FROM customers WHERE name = 'eve'");
            }
        });
        check("call.procedure.inout", () -> {
            try (CallableStatement cs = conn.prepareCall("call count_customers(?)")) {
                cs.registerOutParameter(1, Types.BIGINT);
                cs.setLong(1, 0);
                cs.execute();
                return cs.getLong(1);
            }
        });
        check("call.procedure.inout.escape", () -> {
            try (Connection c = connect("escapeSyntaxCallMode", "callIfNoReturn");
                 CallableStatement cs = c.prepareCall("{call count_customers(?)}")) {
                cs.registerOutParameter(1, Types.BIGINT);
                cs.setLong(1, 0);
                cs.execute();
                return cs.getLong(1);
            }
        });
        check("call.select.function.rows", () -> query(conn, "SELECT * FROM order_stats(3)"));
    }

    static void escapes() {
        check("esc.fn", () -> query(conn, "SELECT {fn ucase(name)}, {fn lcase('ABC')}, {fn length(name)}, {fn concat(name, '!')},"
            + " {fn substring(name, 1, 2)}, {fn abs(-3)}, {fn mod(7, 3)}, {fn ifnull(email, 'none')} FROM customers WHERE id <= 3 ORDER BY id"));
        check("esc.dates", () -> query(conn, "SELECT {d '2024-01-02'}, {t '01:02:03'}, {ts '2024-01-02 03:04:05.5'},"
            + " {fn timestampadd(SQL_TSI_DAY, 3, {ts '2024-01-30 00:00:00'})}, {fn dayofweek({d '2024-01-02'})}, {fn year({d '2024-01-02'})}"));
        check("esc.outer.join", () -> query(conn, "SELECT c.name, count(o.id) FROM {oj customers c LEFT OUTER JOIN orders o ON o.customer_id = c.id}"
            + " WHERE c.id <= 3 GROUP BY c.name ORDER BY c.name"));
        check("esc.like", () -> query(conn, "SELECT count(*) FROM customers WHERE email LIKE '%\\_%' {escape '\\'}"));
        check("esc.limit", () -> query(conn, "SELECT id FROM orders ORDER BY id {limit 2 offset 1}"));
        check("esc.prepared", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM orders WHERE {fn abs(amount)} > ? AND note <> {fn ucase(?)} ORDER BY id")) {
                ps.setBigDecimal(1, new BigDecimal("200"));
                ps.setString(2, "x");
                return all(ps.executeQuery());
            }
        });
    }

    static void types() {
        check("types.array.create", () -> {
            try (PreparedStatement ps = conn.prepareStatement("UPDATE events SET tags = ? WHERE tenant = ? AND id = ?")) {
                ps.setArray(1, conn.createArrayOf("text", new Object[] {"a", null, "b c", "d\"e"}));
                ps.setInt(2, 1);
                ps.setLong(3, 1);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT tags, tags[3], array_length(tags, 1) FROM events WHERE id = ANY(?) ORDER BY id")) {
                ps.setArray(1, conn.createArrayOf("int8", new Object[] {1L, 2L}));
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        java.sql.Array a = rs.getArray(1);
                        b.append(a.getBaseTypeName()).append(Arrays.toString((Object[]) a.getArray())).append(rs.getString(2)).append(rs.getInt(3));
                        try (ResultSet ar = a.getResultSet()) { b.append(all(ar)); }
                    }
                }
                return b.toString();
            }
        });
        check("types.array.int", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::int[] || 9, array_agg(id ORDER BY id) FROM customers WHERE id = ANY(?)")) {
                ps.setArray(1, conn.createArrayOf("int4", new Integer[] {1, 2}));
                ps.setObject(2, new int[] {1, 3});
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return Arrays.toString((Object[]) rs.getArray(1).getArray()) + Arrays.toString((Object[]) rs.getArray(2).getArray());
                }
            }
        });
        check("types.uuid", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT tenant, id, u FROM events WHERE u = ?")) {
                ps.setObject(1, UUID.fromString("00000000-0000-0000-0000-000000000007"));
                try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getInt(1) + " " + rs.getLong(2) + " " + rs.getObject(3).getClass().getSimpleName() + " " + rs.getObject(3, UUID.class); }
            }
        });
        check("types.json.pgobject", () -> {
            PGobject o = new PGobject();
            o.setType("jsonb");
            o.setValue("{\"k\": 99, \"nested\": {\"a\": [1, 2]}}");
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO events (tenant, id, payload) VALUES (2, 950, ?)")) {
                ps.setObject(1, o);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO events (tenant, id, payload) VALUES (3, 951, ?)")) {
                ps.setObject(1, "{\"k\": 100}", Types.OTHER);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT payload, payload->'nested', payload @> ?::jsonb FROM events WHERE id IN (950, 951) ORDER BY id")) {
                ps.setString(1, "{\"k\": 99}");
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Object v = rs.getObject(1);
                        b.append(v.getClass().getSimpleName()).append(":").append(((PGobject) v).getType()).append(":").append(v)
                            .append(" ").append(rs.getString(2)).append(" ").append(rs.getBoolean(3)).append(" ; ");
                    }
                }
                return b.toString();
            }
        });
        check("types.json.string.unspecified", () -> {
            try (Connection c = connect("stringtype", "unspecified"); PreparedStatement ps = c.prepareStatement("UPDATE events SET payload = ? WHERE id = 951 RETURNING payload->>'z'")) {
                ps.setString(1, "{\"z\": \"s\"}");
                return all(ps.executeQuery());
            }
        });
        check("types.time", () -> {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO events (tenant, id, at) VALUES (1, ?, ?)")) {
                ps.setLong(1, 960);
                ps.setObject(2, OffsetDateTime.of(2024, 3, 31, 1, 30, 0, 123456000, ZoneOffset.ofHours(-7)));
                ps.executeUpdate();
                ps.setLong(1, 961);
                ps.setTimestamp(2, Timestamp.valueOf("2024-10-27 02:30:00"));
                ps.executeUpdate();
                ps.setLong(1, 962);
                ps.setObject(2, LocalDateTime.of(2024, 1, 1, 0, 0));
                ps.executeUpdate();
                ps.setLong(1, 963);
                ps.setTimestamp(2, Timestamp.valueOf("2024-07-01 12:00:00"), Calendar.getInstance(TimeZone.getTimeZone("UTC")));
                ps.executeUpdate();
            }
            StringBuilder b = new StringBuilder();
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT id, at, at::text, at::date, at AT TIME ZONE 'UTC', current_setting('TimeZone') FROM events WHERE id >= 960 ORDER BY id")) {
                while (rs.next())
                    b.append(rs.getLong(1)).append(" ").append(rs.getObject(2, OffsetDateTime.class)).append(" ").append(rs.getTimestamp(2))
                        .append(" ").append(rs.getString(3)).append(" ").append(rs.getObject(4, LocalDate.class)).append(" ")
                        .append(rs.getObject(5, LocalDateTime.class)).append(" ").append(rs.getString(6)).append(" ; ");
            }
            return b.toString();
        });
        check("types.time.local", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::date + 1, ?::time + interval '1 minute', ?::timestamp, ?::timestamptz, ?::timetz")) {
                ps.setObject(1, LocalDate.of(2024, 2, 28));
                ps.setObject(2, LocalTime.of(23, 59, 30));
                ps.setObject(3, LocalDateTime.of(2024, 12, 31, 23, 59, 59, 999999000));
                ps.setObject(4, OffsetDateTime.of(2024, 6, 15, 12, 0, 0, 0, ZoneOffset.UTC));
                ps.setObject(5, OffsetTime.of(10, 0, 0, 0, ZoneOffset.ofHours(3)));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getObject(1, LocalDate.class) + " " + rs.getObject(2, LocalTime.class) + " " + rs.getObject(3, LocalDateTime.class)
                        + " " + rs.getObject(4, OffsetDateTime.class) + " " + rs.getString(5) + " " + rs.getObject(5, OffsetTime.class);
                }
            }
        });
        check("types.bytea", () -> {
            byte[] data = new byte[3000];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7);
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO blobs (id, data, n) VALUES (?, ?, ?)")) {
                ps.setInt(1, 1);
                ps.setBytes(2, data);
                ps.setBigDecimal(3, new BigDecimal("123456789012345678901234567890.123456789012345678901234567890"));
                ps.executeUpdate();
                ps.setInt(1, 2);
                ps.setBinaryStream(2, new ByteArrayInputStream(new byte[] {1, 2, 3}), 3);
                ps.setBigDecimal(3, new BigDecimal("-0.000000000000000000000000001"));
                ps.executeUpdate();
                ps.setInt(1, 3);
                ps.setBytes(2, new byte[0]);
                ps.setObject(3, Double.NaN, Types.NUMERIC);
                ps.executeUpdate();
            }
            StringBuilder b = new StringBuilder();
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT id, data, length(data), md5(data), n, n::text FROM blobs ORDER BY id")) {
                while (rs.next()) {
                    byte[] got = rs.getBytes(2);
                    b.append(rs.getInt(1)).append(" ").append(got.length).append(" ").append(Arrays.hashCode(got)).append(" ")
                        .append(rs.getInt(3)).append(" ").append(rs.getString(4)).append(" ").append(rs.getString(6)).append(" ");
                    try { b.append(rs.getBigDecimal(5)); } catch (SQLException e) { b.append("bd:" + e.getSQLState()); }
                    b.append(" ; ");
                }
            }
            return b.toString();
        });
        check("types.numeric.binary", () -> {
            try (Connection c = connect("prepareThreshold", "-1"); PreparedStatement ps = c.prepareStatement("SELECT n, n * 2, sum(n) OVER () FROM blobs WHERE id < 3 ORDER BY id")) {
                StringBuilder b = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) { while (rs.next()) b.append(rs.getBigDecimal(1)).append(" ").append(rs.getBigDecimal(2)).append(" ").append(rs.getBigDecimal(3)).append(" ; "); }
                return b.toString();
            }
        });
        check("types.enum.domain.composite", () -> {
            exec("CREATE TABLE typed (id int PRIMARY KEY, m mood, p posint, c pair)");
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO typed VALUES (?, ?::mood, ?, ?::pair)")) {
                ps.setInt(1, 1);
                ps.setString(2, "ok");
                ps.setInt(3, 5);
                ps.setString(4, "(3,\"x y\")");
                ps.executeUpdate();
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM typed")) {
                rs.next();
                ResultSetMetaData m = rs.getMetaData();
                return rs.getObject(2) + " " + m.getColumnTypeName(2) + " " + rs.getObject(3) + " " + m.getColumnTypeName(3) + " "
                    + rs.getObject(4) + " " + m.getColumnTypeName(4) + " " + m.getColumnType(4);
            }
        });
        check("types.domain.violation", () -> { exec("INSERT INTO typed VALUES (2, 'ok', -1, NULL)"); return "no error"; });
    }

    static void largeObjects() {
        check("lo.roundtrip", () -> {
            conn.setAutoCommit(false);
            try {
                LargeObjectManager lom = conn.unwrap(PGConnection.class).getLargeObjectAPI();
                long oid = lom.createLO(LargeObjectManager.READWRITE);
                LargeObject lo = lom.open(oid, LargeObjectManager.WRITE);
                lo.write("hello large object".getBytes(StandardCharsets.UTF_8));
                lo.close();
                lo = lom.open(oid, LargeObjectManager.READ);
                lo.seek(6);
                String s = new String(lo.read(5), StandardCharsets.UTF_8) + " size=" + lo.size();
                lo.close();
                exec("INSERT INTO blobs (id, n) VALUES (10, " + oid + ")");
                conn.commit();
                lom.unlink(oid);
                conn.commit();
                return s;
            } finally { conn.setAutoCommit(true); }
        });
        check("lo.sql", () -> {
            String oid = query(conn, "SELECT lo_from_bytea(0, 'sql lo')").split(" ")[1];
            String r = query(conn, "SELECT convert_from(lo_get(" + oid + "), 'UTF8')");
            query(conn, "SELECT lo_unlink(" + oid + ")");
            return r;
        });
        check("lo.blob.api", () -> {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("SELECT lo_from_bytea(0, 'blob api')")) {
                long oid;
                try (ResultSet rs = ps.executeQuery()) { rs.next(); oid = rs.getLong(1); }
                try (PreparedStatement q = conn.prepareStatement("SELECT ?::oid")) {
                    q.setLong(1, oid);
                    try (ResultSet rs = q.executeQuery()) {
                        rs.next();
                        Blob blob = rs.getBlob(1);
                        String s = new String(blob.getBytes(1, (int) blob.length()), StandardCharsets.UTF_8);
                        conn.rollback();
                        return s;
                    }
                }
            } finally { conn.setAutoCommit(true); }
        });
    }

    static void copy() {
        check("copy.in.default", () -> {
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder data = new StringBuilder();
            for (int i = 0; i < 50; i++) data.append(300 + i).append("\tcp").append(i).append("\t").append(i).append(".5\n");
            long n = cm.copyIn("COPY b_true (id, v, n) FROM STDIN", new StringReader(data.toString()));
            return n + " " + query(conn, "SELECT count(*), sum(n) FROM b_true WHERE id BETWEEN 300 AND 349");
        });
        check("copy.in.csv.events", () -> {
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            String data = "tenant,id,payload,tags\n1,700,\"{\"\"c\"\": 1}\",\"{a,b}\"\n2,701,,\n3,702,\"{}\",{}\n";
            long n = cm.copyIn("COPY events (tenant, id, payload, tags) FROM STDIN WITH (FORMAT csv, HEADER true)", new StringReader(data));
            return n + " " + query(conn, "SELECT tenant, id, payload, tags FROM events WHERE id >= 700 ORDER BY id");
        });
        check("copy.in.error", () -> {
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            try {
                cm.copyIn("COPY blobs (id) FROM STDIN", new StringReader("100\n101\n1\n"));
                return "no error";
            } catch (SQLException e) {
                return e.getSQLState() + " " + query(conn, "SELECT count(*) FROM blobs WHERE id >= 100");
            }
        });
        check("copy.out.table", () -> {
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            StringWriter w = new StringWriter();
            long n = cm.copyOut("COPY (SELECT id, name FROM customers ORDER BY id) TO STDOUT WITH (FORMAT csv)", w);
            return n + " " + w.toString().replace("\n", "|");
        });
        check("copy.out.whole", () -> {
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            StringWriter w = new StringWriter();
            long n = cm.copyOut("COPY countries TO STDOUT", w);
            String[] lines = w.toString().split("\n");
            Arrays.sort(lines);
            return n + " " + String.join("|", lines);
        });
        check("copy.out.binary", () -> {
            CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            long n = cm.copyOut("COPY (SELECT id, amount FROM orders WHERE id <= 5 ORDER BY id) TO STDOUT (FORMAT binary)", bo);
            return n + " " + bo.size() + " " + Arrays.hashCode(bo.toByteArray());
        });
        check("copy.in.tx.rollback", () -> {
            conn.setAutoCommit(false);
            try {
                CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
                cm.copyIn("COPY nokey FROM STDIN", new StringReader("77\tr\t1\n"));
                conn.rollback();
                return query(conn, "SELECT count(*) FROM nokey WHERE a = 77");
            } finally { conn.setAutoCommit(true); }
        });
    }

    static void updatable() {
        check("upd.row", () -> {
            try (Statement st = conn.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
                ResultSet rs = st.executeQuery("SELECT * FROM customers WHERE id <= 3 ORDER BY id");
                rs.absolute(2);
                rs.updateString("email", "bob@new.org");
                rs.updateRow();
                rs.moveToInsertRow();
                rs.updateString("name", "fay");
                rs.updateString("email", "fay@x.org");
                rs.insertRow();
                rs.moveToCurrentRow();
                rs.absolute(3);
                String deleted = rs.getString("name");
                rs.close();
                return deleted + " " + query(conn, "SELECT name, email FROM customers WHERE name IN ('bob', 'fay') ORDER BY name");
            }
        });
        check("upd.delete.events", () -> {
            try (Statement st = conn.createStatement(ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_UPDATABLE)) {
                ResultSet rs = st.executeQuery("SELECT tenant, id, payload FROM events WHERE id BETWEEN 700 AND 702");
                int n = 0;
                while (rs.next()) {
                    if (rs.getLong("id") == 701) { rs.deleteRow(); n++; }
                    else { rs.updateString("payload", "{\"u\": true}"); rs.updateRow(); }
                }
                rs.close();
                return n + " " + query(conn, "SELECT id, payload FROM events WHERE id BETWEEN 700 AND 702 ORDER BY id");
            }
        });
        check("upd.key.column", () -> {
            try (Statement st = conn.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
                ResultSet rs = st.executeQuery("SELECT id, v FROM b_false WHERE id = 7");
                rs.next();
                rs.updateInt("id", 7007);
                rs.updateRow();
                rs.close();
                return query(conn, "SELECT id, v FROM b_false WHERE id IN (7, 7007)");
            }
        });
        check("upd.nokey", () -> {
            try (Statement st = conn.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
                ResultSet rs = st.executeQuery("SELECT * FROM nokey WHERE a = 1");
                rs.next();
                rs.updateString("b", "xx");
                rs.updateRow();
                rs.close();
                return query(conn, "SELECT a, b FROM nokey ORDER BY a");
            }
        });
        check("upd.join.readonly", () -> {
            try (Statement st = conn.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_UPDATABLE)) {
                ResultSet rs = st.executeQuery("SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id");
                rs.next();
                return rs.getConcurrency() == ResultSet.CONCUR_UPDATABLE ? "updatable" : "read only";
            }
        });
    }

    static void multi() {
        check("multi.results", () -> {
            try (Statement st = conn.createStatement()) {
                boolean isRs = st.execute("SELECT 1 AS a; UPDATE nokey SET b = b WHERE a = 1; SELECT name FROM customers WHERE id = 1;"
                    + " INSERT INTO nokey (a) VALUES (55), (56); SELECT count(*) FROM orders");
                StringBuilder b = new StringBuilder();
                while (true) {
                    if (isRs) b.append("rs:").append(all(st.getResultSet())).append(" ");
                    else {
                        int n = st.getUpdateCount();
                        if (n == -1) break;
                        b.append("upd:").append(n).append(" ");
                    }
                    isRs = st.getMoreResults();
                }
                return b.toString();
            }
        });
        check("multi.error.middle", () -> {
            try (Statement st = conn.createStatement()) {
                try { st.execute("INSERT INTO nokey (a) VALUES (60); SELECT 1/0; INSERT INTO nokey (a) VALUES (61)"); }
                catch (SQLException e) { return e.getSQLState() + " " + query(conn, "SELECT count(*) FROM nokey WHERE a >= 60"); }
                return "no error";
            }
        });
        check("multi.warnings", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$");
                SQLWarning w = st.getWarnings();
                StringBuilder b = new StringBuilder();
                while (w != null) { b.append(w.getSQLState()).append(":").append(w.getMessage()).append(" "); w = w.getNextWarning(); }
                return b.toString();
            }
        });
        check("multi.ddl.tx", () -> {
            conn.setAutoCommit(false);
            try {
                exec("CREATE TABLE flyway_schema_history (installed_rank int NOT NULL, version varchar(50), description varchar(200) NOT NULL,"
                    + " type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,"
                    + " installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL,"
                    + " CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank))",
                    "CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success)");
                conn.commit();
                query(conn, "SELECT pg_try_advisory_xact_lock(77)");
                exec("LOCK TABLE flyway_schema_history IN ACCESS EXCLUSIVE MODE");
                try (PreparedStatement ps = conn.prepareStatement("INSERT INTO flyway_schema_history (installed_rank, version, description, type,"
                    + " script, checksum, installed_by, execution_time, success) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setInt(1, 1); ps.setString(2, "1"); ps.setString(3, "init"); ps.setString(4, "SQL"); ps.setString(5, "V1__init.sql");
                    ps.setInt(6, 12345); ps.setString(7, "me"); ps.setInt(8, 10); ps.setBoolean(9, true);
                    ps.executeUpdate();
                }
                exec("ALTER TABLE nokey ADD COLUMN d text");
                conn.commit();
                return query(conn, "SELECT installed_rank, version, success FROM flyway_schema_history");
            } finally { conn.setAutoCommit(true); }
        });
    }

    static void timeouts() {
        check("timeout.query", () -> {
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(1);
                long t = System.nanoTime();
                try { st.execute("SELECT pg_sleep(4) FROM customers WHERE id = 1"); return "no error"; }
                catch (SQLException e) { return e.getSQLState() + " fast=" + ((System.nanoTime() - t) < 3_000_000_000L); }
            }
        });
        check("timeout.query.distributed", () -> {
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(1);
                try { st.execute("SELECT count(*) FROM orders, pg_sleep(0.3) WHERE amount > 0 GROUP BY customer_id"); } catch (SQLException e) { return e.getSQLState(); }
                try { st.execute("SELECT pg_sleep(0.5) FROM events"); return "no error"; }
                catch (SQLException e) { return e.getSQLState(); }
            }
        });
        check("timeout.after", () -> query(conn, "SELECT count(*) FROM customers"));
        check("timeout.statement_timeout", () -> {
            conn.setAutoCommit(false);
            try {
                exec("SET LOCAL statement_timeout = '300ms'");
                exec("SELECT pg_sleep(2)");
                return "no error";
            } catch (SQLException e) { return e.getSQLState(); }
            finally { conn.rollback(); conn.setAutoCommit(true); }
        });
        check("cancel", () -> {
            try (Statement st = conn.createStatement()) {
                Thread th = new Thread(() -> {
                    try { Thread.sleep(700); st.cancel(); } catch (Exception e) { }
                });
                th.start();
                long t = System.nanoTime();
                try { st.execute("SELECT pg_sleep(5)"); return "no error"; }
                catch (SQLException e) { th.join(); return e.getSQLState() + " fast=" + ((System.nanoTime() - t) < 4_000_000_000L); }
            }
        });
        check("cancel.after", () -> query(conn, "SELECT count(*) FROM customers"));
        check("cancel.tx", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.execute("INSERT INTO nokey (a) VALUES (88)");
                Thread th = new Thread(() -> { try { Thread.sleep(500); st.cancel(); } catch (Exception e) { } });
                th.start();
                try { st.execute("SELECT pg_sleep(5) FROM events WHERE tenant = 1 AND id = 1"); } catch (SQLException e) { th.join(); }
                try { st.execute("SELECT 1"); return "no error"; } catch (SQLException e) { return e.getSQLState(); }
            } finally { conn.rollback(); conn.setAutoCommit(true); }
        });
    }

    static void tools() {
        // what DBeaver / IntelliJ / Hibernate / Liquibase send besides DatabaseMetaData
        check("tool.version", () -> query(conn, "SELECT current_schema(), current_database() IS NOT NULL, current_user, session_user = current_user"));
        check("tool.show", () -> query(conn, "SHOW search_path") + " " + query(conn, "SHOW server_encoding") + " "
            + query(conn, "SHOW standard_conforming_strings") + " " + query(conn, "SHOW integer_datetimes"));
        check("tool.dbeaver.tables", () -> query(conn, "SELECT c.relname, c.relkind, c.relhasindex, c.relpersistence, d.description"
            + " FROM pg_catalog.pg_class c LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = 0"
            + " AND d.classoid = 'pg_class'::regclass WHERE c.relnamespace = '" + schema + "'::regnamespace AND c.relkind NOT IN ('i','I','c')"
            + " ORDER BY c.relname"));
        check("tool.dbeaver.attrs", () -> query(conn, "SELECT c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),"
            + " a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            + " LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum WHERE c.relnamespace = '" + schema + "'::regnamespace"
            + " AND c.relkind IN ('r', 'p', 'v') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"));
        check("tool.intellij.constraints", () -> query(conn, "SELECT conname, contype, conrelid::regclass, pg_get_constraintdef(oid)"
            + " FROM pg_constraint WHERE connamespace = '" + schema + "'::regnamespace ORDER BY conname"));
        check("tool.indexes", () -> query(conn, "SELECT indexrelid::regclass, indrelid::regclass, indisunique, indisprimary, pg_get_indexdef(indexrelid)"
            + " FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = '" + schema + "'::regnamespace) ORDER BY indexrelid::regclass::text"));
        check("tool.info_schema.columns", () -> query(conn, "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity,"
            + " is_generated FROM information_schema.columns WHERE table_schema = '" + schema + "' ORDER BY table_name, ordinal_position"));
        check("tool.info_schema.sequences", () -> query(conn, "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences"
            + " WHERE sequence_schema = '" + schema + "' ORDER BY 1"));
        check("tool.liquibase.lock", () -> {
            exec("CREATE TABLE databasechangeloglock (id int NOT NULL, locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255),"
                + " CONSTRAINT pk_databasechangeloglock PRIMARY KEY (id))");
            exec("INSERT INTO databasechangeloglock (id, locked) VALUES (1, false)");
            try (PreparedStatement ps = conn.prepareStatement("UPDATE databasechangeloglock SET locked = true, lockgranted = ?, lockedby = ?"
                + " WHERE id = 1 AND locked = false")) {
                ps.setTimestamp(1, Timestamp.valueOf("2024-01-01 00:00:00"));
                ps.setString(2, "host (10.0.0.1)");
                int a = ps.executeUpdate();
                int b = ps.executeUpdate();
                return a + " " + b;
            }
        });
        check("tool.counts", () -> query(conn, "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT count(*) FROM events),"
            + " (SELECT count(*) FROM items), (SELECT count(*) FROM countries), (SELECT count(*) FROM nokey), (SELECT count(*) FROM blobs)"));
    }
}
