"""What every script here shares: its arguments (a libpq URI and the schema to work in)
and one JSON line per check, so that gridpg's output can be compared with PostgreSQL's."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit


def args() -> tuple[str, str]:
    """The coordinator's (or plain PostgreSQL's) URI and the test's schema."""
    return sys.argv[1], sys.argv[2]


def with_search_path(uri: str, schema: str) -> str:
    """The URI with `options=-csearch_path=<schema>`, so that every pooled connection works in it."""
    sep = "&" if "?" in uri else "?"
    return f"{uri}{sep}options={quote(f'-csearch_path={schema}')}"


def parts(uri: str) -> dict[str, Any]:
    """host, port, user, password, database of a postgresql:// URI."""
    u = urlsplit(uri)
    return {"host": u.hostname, "port": u.port or 5432, "user": u.username, "password": u.password,
            "database": u.path.lstrip("/") or "postgres"}


def _plain(value: Any) -> Any:
    if type(value).__name__ in ("Row", "RealDictRow", "Record") or hasattr(value, "_fields"):
        value = dict(value) if hasattr(value, "keys") and not hasattr(value, "_fields") else tuple(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (decimal.Decimal, uuid.UUID, dt.date, dt.time, dt.timedelta, bytes, memoryview)):
        return f"{type(value).__name__}:{bytes(value).hex() if isinstance(value, memoryview) else value}"
    return value


def out(label: str, value: Any) -> None:
    print(json.dumps([label, _plain(value)], sort_keys=True, default=str), flush=True)


def check(label: str, fn: Callable[[], Any]) -> Any:
    """Run one step; print its value, or the SQLSTATE of the error it raised."""
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001 - the error is the check's answer
        code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        orig = getattr(e, "orig", None) or getattr(e, "__cause__", None)
        code = code or getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        out(label, {"error": type(e).__name__, "sqlstate": code, "message": str(e).splitlines()[0][:200]})
        return None
    out(label, value)
    return value
