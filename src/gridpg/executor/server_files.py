"""COPY ... FROM or TO a file or a PROGRAM on the server: the coordinator reads or writes it.

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
COPY ... TO a file or PROGRAM is the same turned round (`copy_to`): the COPY runs as
COPY ... TO STDOUT, its data goes into `cat > file` (umask 022, as PostgreSQL's) or the
command's standard input, run as that user, for pg_write_server_files /
pg_execute_server_program; the client gets the count. A relative path is refused as
PostgreSQL refuses it for COPY TO (42602).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

CHUNK = 256 * 1024
_ANYONE = "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone."
_SERVER_WRITES = ("COPY TO instructs the PostgreSQL server process to write a file. You may want a "
                  "client-side facility such as psql's \\copy.")
_CLIENT_SIDE = ("COPY FROM instructs the PostgreSQL server process to read a file. You may want a "
                "client-side facility such as psql's \\copy.")


async def check_rights(dispatcher: Dispatcher, program: bool, writing: bool = False) -> None:
    """PostgreSQL's rule: a superuser, or a role with the privileges of
    pg_execute_server_program (a program), pg_read_server_files (reading a file) or
    pg_write_server_files (writing one)."""
    role = "pg_execute_server_program" if program else "pg_write_server_files" if writing else "pg_read_server_files"
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(f"SELECT pg_catalog.pg_has_role(current_user, {quote_literal(role)}, 'USAGE')")
    if rows and rows[0][0] == "t":
        return
    what = "to or from an external program" if program else "to a file" if writing else "from a file"
    raise PgError("42501", f"permission denied to COPY {what}",
                  detail=f'Only roles with privileges of the "{role}" role may COPY {what}.', hint=_ANYONE)


async def copy_to(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                  run: Callable[[ExecRequest], Awaitable[bool]]) -> bool:
    """COPY ... TO a file or PROGRAM: `run` runs the same COPY ... TO STDOUT (False: it
    is not the coordinator's to run, and the catalog server runs the statement as written,
    writing the file itself); its data goes to the file or program instead of the client,
    which gets the rest of the answer (the count, notices)."""
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    name = str(body.get("filename") or "")
    program = bool(body.get("is_program"))
    if not program and not os.path.isabs(name):
        raise PgError("42602", "relative path not allowed for COPY to file")
    await check_rights(dispatcher, program, writing=True)
    stmt = parse_sql(request.sql)[0].stmt
    stmt.filename, stmt.is_program = None, False
    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        handled = await run(dataclasses.replace(request, sql=str(RawStream()(stmt))))
        captured = session.out
    finally:
        session.out = saved
    if not handled:
        return False
    data = [m[5:] for m in captured if m[:1] == b"d"]
    # sh -c 'umask 022; cat > "$1"' sh FILE: the file as PostgreSQL writes it (rw-r--r--)
    argv = ["/bin/sh", "-c", name] if program else ["/bin/sh", "-c", 'umask 022; cat > "$1"', "sh", name]
    errors, code = await _feed(argv, data)
    if code != 0:
        raise _failure(name, program, code, errors, writing=True)
    for message in captured:
        if message[:1] not in (b"H", b"d", b"c"):  # (CopyOutResponse, CopyData, CopyDone)
            session.send(message)
    return True


async def _feed(argv: list[str], data: list[bytes]) -> tuple[str, int]:
    """Run `argv` as the servers' system user with `data` on its standard input."""
    process = await _spawn(argv, writing=True)
    assert process.stdin is not None and process.stderr is not None
    try:
        for chunk in data:
            if process.stdin.is_closing():
                break
            process.stdin.write(chunk)
            await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError, RuntimeError):
        pass  # it stopped reading (its pipe closed): its exit code and message say why
    errors = await process.stderr.read()
    return errors.decode(errors="replace"), await process.wait()


async def chunks(body: dict[str, Any]) -> AsyncIterator[bytes]:
    """The output of the CopyStmt's file (`cat`) or program (`/bin/sh -c`), run as the
    servers' system user, in chunks; PostgreSQL's error when it cannot be read."""
    name = str(body.get("filename") or "")
    program = bool(body.get("is_program"))
    if not program and not os.path.isabs(name):
        raise PgError(FEATURE_NOT_SUPPORTED, f'COPY FROM the relative path "{name}" is not supported by gridpg',
                      detail="PostgreSQL reads it relative to its data directory; a cluster has many.",
                      hint="Give the file's absolute path, or use psql's \\copy.")
    process = await _spawn(["/bin/sh", "-c", name] if program else ["cat", "--", name], writing=False)
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


async def _spawn(argv: list[str], writing: bool) -> asyncio.subprocess.Process:
    """`argv` run as the servers' system user, in a session of its own: its standard input
    a pipe when `writing` (COPY TO), else its standard output (COPY FROM); stderr kept."""
    from gridpg.cluster.pgserver import run_as_user

    pipe, none = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    return await asyncio.create_subprocess_exec(
        *argv, stdin=pipe if writing else none, stdout=none if writing else pipe, stderr=pipe,
        start_new_session=True, preexec_fn=_become(run_as_user()))  # (uvloop takes no `user`)


def _become(user: str | None) -> Any:
    """The child's switch to `user` (its groups, group and user; None: stay who we are)
    and to PostgreSQL's umask (077: a program's files are the server user's alone; COPY
    TO's own file is made 022 by its command), before it runs the command."""
    import pwd

    entry = pwd.getpwnam(user) if user else None

    def switch() -> None:
        os.umask(0o077)
        if entry is not None and user is not None:
            os.initgroups(user, entry.pw_gid)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            os.chdir(entry.pw_dir if os.path.isdir(entry.pw_dir) else "/")

    return switch


def _failure(name: str, program: bool, code: int, errors: str, writing: bool = False) -> PgError:
    if program:
        how = f"child process exited with exit code {code}" if code > 0 else \
            f"child process was terminated by signal {-code}"
        return PgError("38000", f'program "{name}" failed', detail=how)
    mode = "writing" if writing else "reading"
    hint = _SERVER_WRITES if writing else _CLIENT_SIDE
    if "No such file" in errors or "nonexistent" in errors:
        return PgError("58P01", f'could not open file "{name}" for {mode}: No such file or directory', hint=hint)
    if "Permission denied" in errors:
        return PgError("42501", f'could not open file "{name}" for {mode}: Permission denied', hint=hint)
    if "Is a directory" in errors:
        if writing:
            return PgError("42809", f'could not open file "{name}" for writing: Is a directory')
        return PgError("42809", f'"{name}" is a directory')
    what = "write to" if writing else "read from"
    return PgError("58030", f'could not {what} COPY file: {errors.strip() or f"exit code {code}"}')
