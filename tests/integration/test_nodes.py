"""XL node statements: an existing PostgreSQL joins as a datanode, is used, and leaves."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import PgServer, find_pg_bin, make_reachable, run_as_user


@pytest.fixture()
def extra_server(gridpg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A plain PostgreSQL with the cluster's superuser password, not yet in the cluster."""
    directory = tmp_path_factory.mktemp("extra")
    make_reachable(directory, run_as_user())
    password_file = directory / "password"
    password_file.write_text(gridpg_cluster.password() + "\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = PgServer("extra", directory / "data", "127.0.0.1", port, directory / "run",
                      directory / "log" / "extra.log", find_pg_bin(), password_file)
    server.init({"fsync": "off"})
    server.start()
    try:
        yield port
    finally:
        server.stop("immediate")


def test_create_use_and_drop_a_node(gridpg_cluster: Cluster, extra_server: int, schema: str) -> None:
    name = "dnx" + secrets.token_hex(2)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one:
        one.execute(f"CREATE NODE {name} WITH (TYPE = 'datanode', HOST = '127.0.0.1', PORT = {extra_server})")
        nodes = [r[0] for r in one.execute("SELECT node_name FROM pgxc_node WHERE node_type = 'D'")]
        assert name in nodes
        one.execute(f"SET search_path TO {schema}")
        one.execute(f"CREATE TABLE only_new (id int, v text) DISTRIBUTE BY HASH (id) TO NODE ({name})")
        one.execute("CREATE TABLE everywhere (id int) DISTRIBUTE BY HASH (id)")
        one.execute("INSERT INTO only_new SELECT g, 'x' FROM generate_series(1, 20) g")
        one.execute("INSERT INTO everywhere SELECT generate_series(1, 90)")
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        assert two.execute(f"SELECT count(*) FROM {schema}.only_new").fetchone()[0] == 20
        assert two.execute(f"SELECT count(*) FROM {schema}.everywhere").fetchone()[0] == 90
        with pytest.raises(psycopg.errors.ObjectInUse):
            two.execute(f"DROP NODE {name}")
    direct = f"postgresql://postgres:{gridpg_cluster.password()}@127.0.0.1:{extra_server}/postgres"
    with psycopg.connect(direct, autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.only_new").fetchone()[0] == 20
        assert 0 < conn.execute(f"SELECT count(*) FROM {schema}.everywhere").fetchone()[0] < 90
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one:
        one.execute(f"DROP TABLE {schema}.only_new, {schema}.everywhere")
        left = one.execute("SELECT count(*) FROM gridpg.dist_table WHERE schema_name = %s", (schema,)).fetchone()[0]
        assert left == 0
        one.execute(f"DROP NODE {name}")
        assert name not in [r[0] for r in one.execute("SELECT node_name FROM pgxc_node")]


def test_node_group_places_tables(gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    first = sorted(datanodes)[0]
    group = "g" + secrets.token_hex(2)
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE NODE GROUP {group} WITH ({first})")
        conn.execute(f"CREATE TABLE {schema}.grp (id int) DISTRIBUTE BY ROUNDROBIN TO GROUP {group}")
        conn.execute(f"INSERT INTO {schema}.grp SELECT generate_series(1, 10)")
        groups = conn.execute("SELECT groups FROM gridpg.dist_table WHERE schema_name = %s", (schema,)).fetchone()[0]
        assert groups == [first]
        conn.execute(f"DROP TABLE {schema}.grp")
        conn.execute(f"DROP NODE GROUP {group}")
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute(f"DROP NODE GROUP {group}")


def test_unknown_node_is_a_clear_error(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute(f"CREATE TABLE {schema}.x (id int) DISTRIBUTE BY HASH (id) TO NODE (nosuch)")
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute("DROP NODE nosuch")


_ = Path
