"""`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
the idiom test suites and admin scripts run to end other sessions: through a coordinator,
pg_stat_activity lists the catalog server's backends, which serve every session of the
coordinator (pooled connections, the monitor's), and the session's pg_backend_pid() is
gridpg's, none of them. The statement killed the backends it met before its own, then
failed with 08006 when it killed its own. Such calls are now refused (0A000), nothing is
signalled, and another session's open transaction goes on."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_signalling_backends_is_refused_and_disturbs_nobody(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as admin, \
            psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as other:
        other.execute(f'SET search_path = "{schema}"')
        other.execute("CREATE TEMP TABLE notes (id int)")  # (held on its catalog connection)
        other.execute("BEGIN")
        other.execute("INSERT INTO notes VALUES (1)")
        for sql in ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
                    "SELECT count(*) FILTER (WHERE pg_catalog.pg_cancel_backend(pid)) FROM pg_stat_activity",
                    "SELECT pg_signal_backend(1, 15)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                admin.execute(sql)
        other.execute("INSERT INTO notes VALUES (2)")
        other.execute("COMMIT")
        assert other.execute("SELECT count(*) FROM notes").fetchone() == (2,)
        assert admin.execute("SELECT 1").fetchone() == (1,)
