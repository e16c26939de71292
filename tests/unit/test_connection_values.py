"""sql/connection_values.py: the client connection's values spliced into statements."""

from gridpg.sql.connection_values import ConnectionValues, of_socket, pin_connection_values

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
                "SELECT * FROM inet_client_addr()",  # a function in FROM stays a call
                "SELECT inet_client_addr(("):
        assert pin_connection_values(sql, VALUES) == sql


def test_of_socket_reads_tcp_addresses() -> None:
    assert of_socket(("::1", 5, 0, 0), ("::1", 6, 0, 0)) == ConnectionValues("::1", 5, "::1", 6)
