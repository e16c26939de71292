"""Postgres-XL and Greenplum statement syntax that PostgreSQL's parser does not know.

`extract_distribution` cuts `DISTRIBUTE BY ...`, `DISTRIBUTED BY/RANDOMLY/REPLICATED` and
`TO NODE (...)` / `TO GROUP g` out of a CREATE TABLE, by token positions, and returns the
plain statement plus what was asked. `parse_xl_command` recognizes EXECUTE DIRECT, CREATE/
ALTER/DROP NODE [GROUP], PAUSE/UNPAUSE CLUSTER, CREATE BARRIER and CLEAN CONNECTION.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gridpg.errors import SYNTAX_ERROR, PgError
from gridpg.sql.parse import tokens


@dataclass(frozen=True)
class DistributionSpec:
    method: str  # hash | modulo | roundrobin | replication
    column: str | None = None
    nodes: tuple[str, ...] = ()
    group: str | None = None


_METHODS = {"hash": "hash", "modulo": "modulo", "roundrobin": "roundrobin",
            "replication": "replication", "replicated": "replication", "randomly": "roundrobin"}


def extract_distribution(sql: str) -> tuple[str, DistributionSpec | None]:
    """(sql without the clauses, the distribution asked for or None)."""
    if not re.search(r"\bdistribut|\bto\s+(node|group)\b", sql, re.IGNORECASE):
        return sql, None
    toks = tokens(sql)
    if not _is_create_table(sql, toks):
        # Only CREATE TABLE takes these clauses: `GRANT ... TO GROUP g`, `RENAME TO node`
        # or a column named "distributed" elsewhere are plain PostgreSQL.
        return sql, None
    depth = 0
    cut: list[tuple[int, int]] = []
    spec: dict[str, object] = {}
    i = 0
    while i < len(toks):
        tok = toks[i]
        text = sql[tok.start : tok.end + 1]
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and text.lower() in ("distribute", "distributed"):
            i = _read_distribute(sql, toks, i, spec, cut)
            continue
        elif depth == 0 and text.lower() == "to" and i + 1 < len(toks):
            nxt = sql[toks[i + 1].start : toks[i + 1].end + 1].lower()
            if nxt in ("node", "group"):
                i = _read_to(sql, toks, i, spec, cut)
                continue
        i += 1
    if not cut:
        return sql, None
    out = []
    pos = 0
    for start, end in sorted(cut):
        out.append(sql[pos:start])
        pos = end
    out.append(sql[pos:])
    method = str(spec.get("method", "hash" if spec.get("column") else ""))
    if not method:
        method = ""
    return "".join(out).strip(), DistributionSpec(
        method=method, column=spec.get("column"),  # type: ignore[arg-type]
        nodes=tuple(spec.get("nodes", ())),  # type: ignore[arg-type]
        group=spec.get("group"),  # type: ignore[arg-type]
    )


_TABLE_PREFIX = frozenset(("global", "local", "temp", "temporary", "unlogged"))


def _is_create_table(sql: str, toks: list) -> bool:  # type: ignore[type-arg]
    """CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE ... (AS ... too)."""
    words = [_word(sql, t).lower() for t in toks[:4]]
    if not words or words[0] != "create":
        return False
    for word in words[1:]:
        if word == "table":
            return True
        if word not in _TABLE_PREFIX:
            return False
    return False


def _word(sql: str, tok: object) -> str:
    return sql[tok.start : tok.end + 1]  # type: ignore[attr-defined]


def _ident(sql: str, tok: object) -> str:
    text = _word(sql, tok)
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _read_distribute(sql: str, toks: list, i: int, spec: dict, cut: list) -> int:  # type: ignore[type-arg]
    start = toks[i].start
    word = _word(sql, toks[i]).lower()
    j = i + 1
    if j >= len(toks):
        raise PgError(SYNTAX_ERROR, "syntax error at end of input in DISTRIBUTE BY clause")
    nxt = _word(sql, toks[j]).lower()
    if word == "distributed" and nxt in ("randomly", "replicated"):
        spec["method"] = _METHODS[nxt]
        cut.append((start, toks[j].end + 1))
        return j + 1
    if nxt != "by":
        raise PgError(SYNTAX_ERROR, f'syntax error at or near "{_word(sql, toks[j])}"')
    j += 1
    if word == "distributed":  # Greenplum: DISTRIBUTED BY (col)
        method = "hash"
    else:
        if j >= len(toks):
            raise PgError(SYNTAX_ERROR, "syntax error at end of input in DISTRIBUTE BY clause")
        method_word = _word(sql, toks[j]).lower()
        if method_word not in _METHODS:
            raise PgError(SYNTAX_ERROR, f'unknown distribution method "{_word(sql, toks[j])}"',
                          hint="use HASH(col), MODULO(col), ROUNDROBIN or REPLICATION")
        method = _METHODS[method_word]
        j += 1
    spec["method"] = method
    if method in ("hash", "modulo"):
        if j + 2 >= len(toks) or _word(sql, toks[j]) != "(" or _word(sql, toks[j + 2]) != ")":
            raise PgError(SYNTAX_ERROR, f"DISTRIBUTE BY {method.upper()} takes one column in parentheses")
        spec["column"] = _ident(sql, toks[j + 1])
        j += 3
    cut.append((start, toks[j - 1].end + 1))
    return j


def _read_to(sql: str, toks: list, i: int, spec: dict, cut: list) -> int:  # type: ignore[type-arg]
    start = toks[i].start
    kind = _word(sql, toks[i + 1]).lower()
    j = i + 2
    if kind == "group":
        if j >= len(toks):
            raise PgError(SYNTAX_ERROR, "TO GROUP needs a group name")
        spec["group"] = _ident(sql, toks[j])
        cut.append((start, toks[j].end + 1))
        return j + 1
    if j >= len(toks) or _word(sql, toks[j]) != "(":
        raise PgError(SYNTAX_ERROR, "TO NODE needs a list of nodes in parentheses")
    names = []
    j += 1
    while j < len(toks) and _word(sql, toks[j]) != ")":
        if _word(sql, toks[j]) != ",":
            names.append(_ident(sql, toks[j]))
        j += 1
    if j >= len(toks):
        raise PgError(SYNTAX_ERROR, "syntax error at end of input in TO NODE clause")
    if not names:
        raise PgError(SYNTAX_ERROR, "TO NODE needs a list of nodes in parentheses")
    spec["nodes"] = names
    cut.append((start, toks[j].end + 1))
    return j + 1


# -- cluster commands ------------------------------------------------------------------


@dataclass(frozen=True)
class XlCommand:
    kind: str  # execute_direct | create_node | alter_node | drop_node | create_node_group | drop_node_group | pause | unpause | barrier | clean_connection
    name: str = ""
    nodes: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    sql: str = ""


_EXECUTE_DIRECT = re.compile(r"^\s*execute\s+direct\s+on\s*\(([^)]*)\)\s*'((?:[^']|'')*)'\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_NODE_CMD = re.compile(r"^\s*(create|alter|drop)\s+node\s+(group\s+)?(\"(?:[^\"]|\"\")+\"|\w+)\s*(.*?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_SIMPLE = {
    "pause cluster": "pause", "unpause cluster": "unpause", "clean connection": "clean_connection",
}


def parse_xl_command(sql: str) -> XlCommand | None:
    lowered = " ".join(sql.lower().rstrip("; \n\t").split())
    for prefix, kind in _SIMPLE.items():
        if lowered == prefix or lowered.startswith(prefix + " "):
            return XlCommand(kind)
    match = _EXECUTE_DIRECT.match(sql)
    if match:
        nodes = tuple(_name(n.strip()) for n in match.group(1).split(",") if n.strip())
        return XlCommand("execute_direct", nodes=nodes, sql=match.group(2).replace("''", "'"))
    if lowered.startswith("create barrier"):
        name = sql.strip().rstrip(";").split(None, 2)[2].strip().strip("'\"") if len(sql.split()) > 2 else ""
        return XlCommand("barrier", name=name)
    match = _NODE_CMD.match(sql)
    if match:
        verb, group, name, rest = match.groups()
        name = _name(name)
        kind = f"{verb.lower()}_node" + ("_group" if group else "")
        if group:
            members = re.findall(r"(\"(?:[^\"]|\"\")+\"|\w+)", re.sub(r"(?i)^\s*with\s*", "", rest))
            return XlCommand(kind, name=name, nodes=tuple(_name(m) for m in members))
        options = dict(
            (k.lower(), v.strip().strip("'"))
            for k, v in re.findall(r"(\w+)\s*=\s*('(?:[^']|'')*'|[\w.]+)", rest)
        )
        return XlCommand(kind, name=name, options=options)
    return None


def _name(text: str) -> str:
    """An identifier as PostgreSQL reads it: quoted keeps its case, unquoted folds to lower."""
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()
