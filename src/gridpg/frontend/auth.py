"""Client authentication: trust, md5 and SCRAM-SHA-256 against the cluster's roles.

Roles live on the catalog servers (one role set, propagated to all of them by DDL), so a
role created through any coordinator can log in on every coordinator. The verifier is
read from `pg_authid`; the SCRAM exchange is done by `scramp`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
    # `name=value` of ALTER ROLE/DATABASE ... SET for this login, lowest precedence first
    settings: tuple[str, ...] = ()


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
        "SELECT rolname, rolcanlogin, rolsuper, rolpassword FROM pg_catalog.pg_authid "
        f"WHERE rolname = {quote_literal(user)}"
    )


def role_settings_sql(user: str) -> str:
    """The role's and the database's defaults (ALTER ROLE / ALTER DATABASE ... SET), in
    PostgreSQL's order of precedence, lowest first: ALTER ROLE ALL, the database's, the
    role's, the role's in this database. Backend connections are the cluster superuser's
    (a client's role is set on them): PostgreSQL applies such defaults only at a login,
    so the session takes them as its startup values (a role's search_path was never
    applied: its tables were not found, or another schema's of the same name were read)."""
    from gridpg.sql.quote import quote_literal

    return (
        "SELECT c.setting FROM pg_catalog.pg_db_role_setting s "
        "CROSS JOIN LATERAL unnest(s.setconfig) WITH ORDINALITY AS c(setting, n) "
        "LEFT JOIN pg_catalog.pg_authid a ON a.oid = s.setrole "
        "WHERE (s.setrole = 0 OR a.rolname = " + quote_literal(user) + ") "
        "AND s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database d "
        "WHERE d.datname = pg_catalog.current_database())) "
        "ORDER BY CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN 1 WHEN s.setrole = 0 THEN 2 "
        "WHEN s.setdatabase = 0 THEN 3 ELSE 4 END, c.n"
    )


def role_from_row(row: tuple[str | None, ...] | None) -> RoleInfo | None:
    if row is None:
        return None
    return RoleInfo(str(row[0]), row[1] == "t", row[2] == "t", row[3])


