"""EXPLAIN's option list checked as PostgreSQL checks it before planning (explain.c
`ParseExplainOptionList`): options that need ANALYZE, and those that exclude it.

gridpg prints its own plans for statements over distributed tables, so PostgreSQL never
sees the option list of such an EXPLAIN: `EXPLAIN (WAL) INSERT ...` printed a plan where
PostgreSQL fails with 22023 (Citus's pg13.sql:93, h-citus14). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gridpg.errors import INVALID_PARAMETER_VALUE, PgError

_TRUE = ("true", "on", "yes", "1")
_FALSE = ("false", "off", "no", "0")


def ensure_valid(options: list[dict[str, Any]] | None) -> None:
    """Raise PostgreSQL's 22023 for a combination it refuses; a value this module cannot
    read leaves the list alone (PostgreSQL's own check stands behind it on a catalog path)."""
    given: dict[str, bool | str] = {}
    for option in options or []:
        elem = option.get("DefElem") or {}
        name = elem.get("defname", "")
        value = _value(elem.get("arg"))
        if value is None:
            return
        given[name] = value
    analyze = given.get("analyze", False) is True
    if given.get("wal") is True and not analyze:
        raise PgError(INVALID_PARAMETER_VALUE, "EXPLAIN option WAL requires ANALYZE")
    if given.get("timing") is True and not analyze:
        raise PgError(INVALID_PARAMETER_VALUE, "EXPLAIN option TIMING requires ANALYZE")
    serialize = given.get("serialize")
    if serialize is not None and serialize is not False and serialize != "none" and not analyze:
        raise PgError(INVALID_PARAMETER_VALUE, "EXPLAIN option SERIALIZE requires ANALYZE")
    if given.get("generic_plan") is True and analyze:
        raise PgError(INVALID_PARAMETER_VALUE, "EXPLAIN options ANALYZE and GENERIC_PLAN cannot be used together")


def _value(arg: dict[str, Any] | None) -> bool | str | None:
    """An option's value: True for none given, a boolean's, or a word's text (lower case);
    None when it is neither (left to PostgreSQL)."""
    if arg is None:
        return True
    if "Integer" in arg:
        number = arg["Integer"].get("ival", 0)
        return bool(number) if number in (0, 1) else None
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval", False))
    text = (arg.get("String") or {}).get("sval")
    if text is None:
        return None
    text = text.lower()
    return True if text in _TRUE else False if text in _FALSE else text
