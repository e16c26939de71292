"""sql/connection_values.py: the client connection's values spliced into statements."""

from gridpg.sql.connection_values import ConnectionValues, of_socket, pin_connection_values, shows_port

VALUES = ConnectionValues("10.0.0.7", 40001, "10.0.0.2", 5432)


def test_select_list_calls_keep_postgres_column_names() -> None:
    assert pin_connection_values("SELECT inet_client_addr(), pg_catalog.inet_server_port()", VALUES) == (
        "SELECT ('10.0.0.7'::pg_catalog.inet) AS inet_client_addr, (5432::pg_catalog.int4) AS inet_server_port")


def test_calls_inside_expressions_and_dml() -> None:
    assert pin_connection_values("UPDATE t SET a = inet_client_port() + 1 WHERE b = inet_server_addr()", VALUES) == (
        "UPDATE t SET a = (40001::pg_catalog.int4) + 1 WHERE b = ('10.0.0.2'::pg_catalog.inet)")


def test_unix_socket_gives_null() -> None:
    values = of_socket("", "/tmp/.s.PGSQL.5432")
    assert pin_connection_values("SELECT inet_client_addr() a", values) == "SELECT (NULL::pg_catalog.inet) a"


def test_left_alone() -> None:
    for sql in ("CREATE VIEW v AS SELECT inet_client_addr()",  # stored: read by other sessions
                "SELECT s.inet_client_addr()",  # the user's own function
                "SELECT 1 -- inet_client_addr()",
                "SELECT * FROM ROWS FROM (inet_client_addr(), pg_backend_pid())",  # ROWS FROM needs calls
                "SELECT current_setting('work_mem'), s.pg_backend_pid()",
                "SELECT inet_client_addr(("):
        assert pin_connection_values(sql, VALUES) == sql


def test_functions_in_from_become_one_row_of_the_value() -> None:
    assert pin_connection_values("SELECT * FROM inet_client_addr()", VALUES) == (
        "SELECT * FROM pg_catalog.unnest(ARRAY['10.0.0.7'::pg_catalog.inet]) AS inet_client_addr")
    assert pin_connection_values("SELECT a.* FROM inet_server_port() WITH ORDINALITY AS a", VALUES) == (
        "SELECT a.* FROM pg_catalog.unnest(ARRAY[5432::pg_catalog.int4]) WITH ORDINALITY AS a")


def test_backend_pid_and_port_are_the_sessions() -> None:
    values = ConnectionValues("10.0.0.7", 40001, "10.0.0.2", 5432, backend_pid=77, port=5434)
    assert pin_connection_values("SELECT pg_backend_pid(), current_setting('port') FROM t", values) == (
        "SELECT (77::pg_catalog.int4) AS pg_backend_pid, ('5434'::pg_catalog.text) AS current_setting FROM t")
    assert pin_connection_values("SELECT * FROM pg_catalog.pg_backend_pid()", values) == (
        "SELECT * FROM pg_catalog.unnest(ARRAY[77::pg_catalog.int4]) AS pg_backend_pid")
    assert of_socket(("10.0.0.7", 1), ("10.0.0.2", 5434), 9).port == 5434
    assert shows_port("SHOW port") and shows_port("show PORT") and not shows_port("SHOW work_mem")


def test_of_socket_reads_tcp_addresses() -> None:
    assert of_socket(("::1", 5, 0, 0), ("::1", 6, 0, 0)) == ConnectionValues("::1", 5, "::1", 6, port=6)


def test_version_runs_as_an_expression_where_datanodes_answer() -> None:
    from gridpg.planner.text import VERSION_EXPRESSION, rewrite_version

    assert rewrite_version("SELECT version()") == "SELECT gridpg.version()"
    assert rewrite_version("SELECT pg_catalog.version() FROM t", inline=True) == (
        f"SELECT (SELECT {VERSION_EXPRESSION} AS version) FROM t")
    assert rewrite_version(f"SELECT {VERSION_EXPRESSION}", inline=True) == f"SELECT {VERSION_EXPRESSION}"
    assert rewrite_version("SELECT s.version() FROM t", inline=True) == "SELECT s.version() FROM t"


def test_a_session_without_temp_objects_has_no_temp_schema() -> None:
    values = ConnectionValues(own_temps=False)
    assert pin_connection_values("SELECT pg_my_temp_schema(), current_schemas(false) s", values) == (
        "SELECT (0::pg_catalog.oid) AS pg_my_temp_schema, (ARRAY(SELECT gp_s.n FROM pg_catalog.unnest("
        "pg_catalog.current_schemas(false)) WITH ORDINALITY AS gp_s(n, i) WHERE gp_s.n !~ '^pg_temp_[0-9]+$' "
        "ORDER BY gp_s.i)) s")
    own = ConnectionValues(own_temps=True)  # its own catalog connection: PostgreSQL's answer there
    assert pin_connection_values("SELECT pg_my_temp_schema()", own) == "SELECT pg_my_temp_schema()"
