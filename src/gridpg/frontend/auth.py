"""Client authentication: trust, md5 and SCRAM-SHA-256 against the cluster's roles.

Roles live on the catalog servers (one role set, propagated to all of them by DDL), so a
role created through any coordinator can log in on every coordinator. The verifier is
read from `pg_authid`; the SCRAM exchange is done by `scramp`. The same lookup reads the
settings `ALTER ROLE ... SET` and `ALTER DATABASE ... SET` give the role at login
(`pg_db_role_setting`), which the session starts from, as a PostgreSQL backend does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gridpg.errors import INVALID_AUTHORIZATION, INVALID_PASSWORD, fatal
from gridpg.pgwire import codec
from gridpg.pgwire.scram import ScramFailure, ScramServer


@dataclass(frozen=True)
class RoleInfo:
    name: str
    can_login: bool
    is_superuser: bool
    verifier: str | None  # SCRAM-SHA-256$..., md5..., or None
    # (name, value) from ALTER DATABASE/ROLE ... SET, weakest first (PostgreSQL's order:
    # every role in every database, the database, the role, the role in the database)
    settings: tuple[tuple[str, str], ...] = ()


RoleLookup = Callable[[str], Awaitable[RoleInfo | None]]
ReadPassword = Callable[[], Awaitable[bytes]]
Send = Callable[[bytes], None]


async def authenticate(
    user: str, lookup: RoleLookup, send: Send, read_password: ReadPassword, trust: bool
) -> RoleInfo:
    """Run the exchange for `user`; returns the role or raises a FATAL PgError."""
    role = await lookup(user)
    if trust:
        if role is None:
            raise fatal(INVALID_AUTHORIZATION, f'role "{user}" does not exist')
        _ensure_login(role)
        return role
    if role is None or role.verifier is None:
        await _scram_exchange_fake(user, send, read_password)
        raise fatal(INVALID_PASSWORD, f'password authentication failed for user "{user}"')
    if role.verifier.startswith("SCRAM-SHA-256$"):
        await _scram_exchange(role, send, read_password)
    elif role.verifier.startswith("md5"):
        await _md5_exchange(role, send, read_password)
    else:
        raise fatal(INVALID_PASSWORD, f'password authentication failed for user "{user}"')
    _ensure_login(role)
    return role


def _ensure_login(role: RoleInfo) -> None:
    if not role.can_login:
        raise fatal(INVALID_AUTHORIZATION, f'role "{role.name}" is not permitted to log in')


def parse_scram_verifier(verifier: str) -> tuple[bytes, bytes, bytes, int]:
    """`SCRAM-SHA-256$iter:salt$StoredKey:ServerKey` -> (salt, stored, server, iterations)."""
    _, rest = verifier.split("$", 1)
    iter_salt, keys = rest.split("$", 1)
    iterations, salt = iter_salt.split(":", 1)
    stored, server = keys.split(":", 1)
    return (
        base64.b64decode(salt), base64.b64decode(stored), base64.b64decode(server), int(iterations)
    )


async def _scram_exchange(role: RoleInfo, send: Send, read_password: ReadPassword) -> None:
    assert role.verifier is not None
    server = ScramServer(*parse_scram_verifier(role.verifier))
    send(codec.build_auth(codec.AUTH_SASL, codec.cstr("SCRAM-SHA-256") + b"\0"))
    first = _parse_sasl_initial(await read_password())
    try:
        send(codec.build_auth(codec.AUTH_SASL_CONTINUE, server.handle_client_first(first).encode()))
        final = (await read_password()).decode(errors="replace")
        server_final = server.handle_client_final(final)
    except ScramFailure:
        raise fatal(INVALID_PASSWORD, f'password authentication failed for user "{role.name}"') from None
    send(codec.build_auth(codec.AUTH_SASL_FINAL, server_final.encode()))


async def _scram_exchange_fake(user: str, send: Send, read_password: ReadPassword) -> None:
    """Go through the motions for an unknown role so its absence is not revealed."""
    send(codec.build_auth(codec.AUTH_SASL, codec.cstr("SCRAM-SHA-256") + b"\0"))
    await read_password()


def _parse_sasl_initial(payload: bytes) -> str:
    reader = codec.PayloadReader(payload)
    mechanism = reader.cstring()
    if mechanism != "SCRAM-SHA-256":
        raise fatal("08P01", "client selected an invalid SASL authentication mechanism")
    length = reader.int32()
    data = reader.bytes_n(length) if length >= 0 else b""
    return data.decode(errors="replace")


async def _md5_exchange(role: RoleInfo, send: Send, read_password: ReadPassword) -> None:
    assert role.verifier is not None
    salt = os.urandom(4)
    send(codec.build_auth(codec.AUTH_MD5, salt))
    answer = (await read_password()).rstrip(b"\0").decode(errors="replace")
    expected = "md5" + hashlib.md5(role.verifier[3:].encode() + salt).hexdigest()
    if not hmac.compare_digest(answer, expected):
        raise fatal(INVALID_PASSWORD, f'password authentication failed for user "{role.name}"')


def role_lookup_sql(user: str) -> str:
    from gridpg.sql.quote import quote_literal

    return (
        "SELECT a.rolname, a.rolcanlogin, a.rolsuper, a.rolpassword, "
        "(SELECT json_agg(u.item ORDER BY s.rank, u.n) FROM (SELECT setconfig, "
        "(setdatabase <> 0)::int + 2 * (setrole <> 0)::int AS rank "
        "FROM pg_catalog.pg_db_role_setting WHERE setrole IN (0, a.oid) AND setdatabase IN "
        "(0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))) s, "
        "unnest(s.setconfig) WITH ORDINALITY AS u(item, n)) "
        f"FROM pg_catalog.pg_authid a WHERE a.rolname = {quote_literal(user)}"
    )


def role_from_row(row: tuple[str | None, ...] | None) -> RoleInfo | None:
    if row is None:
        return None
    return RoleInfo(str(row[0]), row[1] == "t", row[2] == "t", row[3],
                    login_settings(row[4] if len(row) > 4 else None))


def login_settings(items: str | None) -> tuple[tuple[str, str], ...]:
    """`["name=value", ...]` (pg_db_role_setting's items as JSON) -> ((name, value), ...)."""
    pairs = []
    for item in json.loads(items) if items else []:
        name, _, value = str(item).partition("=")
        pairs.append((name.lower(), value))
    return tuple(pairs)


