"""COPY ... FROM a file or a PROGRAM on the server: the coordinator reads it.

PostgreSQL's backend opens the file (or runs the command through the shell) as the
operating-system user the server runs as, for roles with the privileges of
pg_read_server_files (pg_execute_server_program for a program) or a superuser; the rows
then go where COPY FROM STDIN's go. In a gridpg cluster the coordinator the client
reached is that server: it runs `cat` of the file, or `/bin/sh -c` of the command, as the
servers' system user (DESIGN.md section 1; the coordinator itself may run as root), and
its output is the COPY's data, routed as the client's would be (dml.copy_from_stdin).
Errors are PostgreSQL's: 42501 without the privilege, 58P01 for a missing file, 42809 for
a directory, 38000 when the program fails. A relative path, which PostgreSQL reads
relative to its data directory (a cluster has many), is refused (0A000).
COPY TO a file or program stays refused (0A000): COPY ... TO STDOUT, psql's \\copy.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

CHUNK = 256 * 1024
_ANYONE = "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone."
_CLIENT_SIDE = ("COPY FROM instructs the PostgreSQL server process to read a file. You may want a "
                "client-side facility such as psql's \\copy.")


def refuse_to_file() -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, "COPY to a file or program on the server is not supported by gridpg",
                   hint="Use COPY ... TO STDOUT (psql's \\copy) and write the file on the client.")


async def check_rights(dispatcher: Dispatcher, program: bool) -> None:
    """PostgreSQL's rule: a superuser, or a role with the privileges of
    pg_execute_server_program (a program) / pg_read_server_files (a file)."""
    role = "pg_execute_server_program" if program else "pg_read_server_files"
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(f"SELECT pg_catalog.pg_has_role(current_user, {quote_literal(role)}, 'USAGE')")
    if rows and rows[0][0] == "t":
        return
    what = "to or from an external program" if program else "from a file"
    raise PgError("42501", f"permission denied to COPY {what}",
                  detail=f'Only roles with privileges of the "{role}" role may COPY {what}.', hint=_ANYONE)


async def chunks(body: dict[str, Any]) -> AsyncIterator[bytes]:
    """The output of the CopyStmt's file (`cat`) or program (`/bin/sh -c`), run as the
    servers' system user, in chunks; PostgreSQL's error when it cannot be read."""
    from gridpg.cluster.pgserver import run_as_user

    name = str(body.get("filename") or "")
    program = bool(body.get("is_program"))
    if not program and not os.path.isabs(name):
        raise PgError(FEATURE_NOT_SUPPORTED, f'COPY FROM the relative path "{name}" is not supported by gridpg',
                      detail="PostgreSQL reads it relative to its data directory; a cluster has many.",
                      hint="Give the file's absolute path, or use psql's \\copy.")
    argv = ["/bin/sh", "-c", name] if program else ["cat", "--", name]
    user = run_as_user()
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True,
        preexec_fn=_become(user) if user else None)  # (uvloop takes no `user`)
    assert process.stdout is not None and process.stderr is not None
    done = False
    try:
        while True:
            data = await process.stdout.read(CHUNK)
            if not data:
                break
            yield data
        errors = await process.stderr.read()
        code = await process.wait()
        done = True
    finally:
        if not done and process.returncode is None:  # the COPY failed or was cancelled
            process.kill()
            await process.wait()
    if code != 0:
        raise _failure(name, program, code, errors.decode(errors="replace"))


def _become(user: str) -> Any:
    """The child's switch to `user` (its groups, group and user), before it runs the command."""
    import pwd

    entry = pwd.getpwnam(user)

    def switch() -> None:
        os.initgroups(user, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
        os.chdir(entry.pw_dir if os.path.isdir(entry.pw_dir) else "/")

    return switch


def _failure(name: str, program: bool, code: int, errors: str) -> PgError:
    if program:
        how = f"child process exited with exit code {code}" if code > 0 else \
            f"child process was terminated by signal {-code}"
        return PgError("38000", f'program "{name}" failed', detail=how)
    if "No such file" in errors:
        return PgError("58P01", f'could not open file "{name}" for reading: No such file or directory',
                       hint=_CLIENT_SIDE)
    if "Permission denied" in errors:
        return PgError("42501", f'could not open file "{name}" for reading: Permission denied', hint=_CLIENT_SIDE)
    if "Is a directory" in errors:
        return PgError("42809", f'"{name}" is a directory')
    return PgError("58030", f'could not read from COPY file: {errors.strip() or f"exit code {code}"}')
