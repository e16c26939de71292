"""SQL parsing: the only module that imports pglast.

PostgreSQL's own parser (through pglast) gives a JSON parse tree; we keep it as plain dicts
(`parse_tree`), which costs a few microseconds, and cache it by statement text. XL's
statements that PostgreSQL does not know (DISTRIBUTE BY, EXECUTE DIRECT, CREATE NODE, ...)
are recognized here too, before the parser sees them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pglast import ast
from pglast import parser as pgparser
from pglast.stream import RawStream
from pglast.visitors import Visitor

from gridpg.errors import SYNTAX_ERROR, PgError, stack_depth_exceeded
from gridpg.sql.quote import quote_literal

Tree = dict[str, Any]


def _write_quoted_string(stream: RawStream, value: str) -> None:
    """pglast's printer writes every string constant as '...', which a server reads
    otherwise under `standard_conforming_strings = off` when the value holds a backslash
    (the nodes run with the session's setting). Such a value is printed E'...' with its
    backslashes doubled, read alike under either setting (sql/escape_strings.py): the
    form quote_literal writes."""
    stream.write(quote_literal(value))


# Every printer of gridpg is a RawStream (or a subclass): one rule for all of them.
RawStream.write_quoted_string = _write_quoted_string  # type: ignore[method-assign]


def split(sql: str) -> list[str]:
    """The statements of a query string, as text (comments and empty ones dropped).

    As in PostgreSQL, a syntax error anywhere fails the whole string before anything runs;
    XL statements, which PostgreSQL's parser does not know, are split by the scanner.
    """
    body = sql.strip()
    if ";" not in body.rstrip("; \t\r\n"):
        # One statement (the common case): no split needed; its parse reports any error.
        body = body.rstrip("; \t\r\n")
        if not body or (body.startswith(("--", "/*")) and _only_comments(body)):
            return []
        body = line_comment_ended(body)
        return [spell_out_table_queries(body) if may_hold_table(body) else body]
    try:
        slices = pgparser.split(sql, with_parser=True, only_slices=True)
    except pgparser.ParseError:
        slices = _scanner_slices(sql)
        for piece in slices:
            ensure_parses(sql[piece].strip())
    out = []
    for piece in slices:
        text = line_comment_ended(sql[piece].strip())
        if text and not _only_comments(text):
            out.append(spell_out_table_queries(text) if may_hold_table(text) else text)
    return out


may_hold_table = re.compile("table", re.IGNORECASE).search


def line_comment_ended(text: str) -> str:
    """`text` with a line break after a `--` comment ending it (`... WHERE id = 7 -- one
    row`, stripped of its `;` and blanks): text gridpg appends to a statement (a RETURNING,
    a closing parenthesis) would otherwise be part of the comment."""
    if "--" not in text[text.rfind("\n") + 1:]:
        return text
    try:
        last = pgparser.scan(text)[-1]
    except (pgparser.ParseError, IndexError):
        return text
    return text + "\n" if last.name == "SQL_COMMENT" else text


def spell_out_table_queries(sql: str) -> str:
    """`sql` with each `TABLE rel` query written as `SELECT * FROM rel`.

    PostgreSQL's grammar turns `TABLE rel` into the very tree of `SELECT * FROM rel` (its
    `*` and target carry location -1), so the two texts mean the same. gridpg rewrites
    statements by splicing text at the relation's location (`scratch AS rel`, a view's
    query in parentheses), which `TABLE` does not accept after it: `VALUES (1) UNION ALL
    TABLE t` failed with a syntax error at "AS". Text that does not parse is returned
    unchanged (its error is reported where it is planned)."""
    try:
        tree = parse_tree(sql)
    except PgError:
        return sql
    starts = [select["fromClause"][0]["RangeVar"]["location"]
              for select in _selects(tree) if _is_table_query(select)]
    if not starts:
        return sql
    toks = tokens(sql)
    keywords = [_table_keyword(sql, toks, start) for start in starts]
    out = []
    pos = 0
    for start, end in sorted({(k.start, k.end) for k in keywords if k is not None}):
        out.append(sql[pos:start])
        out.append("SELECT * FROM")
        pos = end + 1
    out.append(sql[pos:])
    return "".join(out)


def _selects(tree: Tree) -> Any:
    """Every SelectStmt of the tree, the branches of set operations (`larg`, `rarg`, which
    the tree holds without a node name) included."""
    for select in _nodes_of(tree, "SelectStmt"):
        yield from _branches(select)


def _branches(select: Tree) -> Any:
    yield select
    for side in ("larg", "rarg"):
        if isinstance(select.get(side), dict):
            yield from _branches(select[side])


# `'Y'::text` right after TO or DEFAULT, written as `text 'Y'`
_CAST_CONSTANT = re.compile(
    r"\b(TO|DEFAULT) ('(?:[^']|'')*')::((?:[A-Za-z_][\w$]*|\"(?:[^\"]|\"\")+\")"
    r"(?:\.(?:[A-Za-z_][\w$]*|\"(?:[^\"]|\"\")+\"))?)(?![\w$.\"(\[])")


def repair_view_definition(definition: str) -> str:
    """A view's definition as `pg_get_viewdef` prints it, made parseable where PostgreSQL
    18 prints what its own grammar refuses: a CYCLE clause's mark values as casts (`SET
    is_cycle TO 'Y'::text DEFAULT 'N'::text`, where the grammar takes constants only, as
    `text 'Y'`). A definition that parses, or that the repair does not make parse, is
    returned unchanged."""
    try:
        parse_tree(definition)
        return definition
    except PgError:
        pass
    repaired = _CAST_CONSTANT.sub(r"\1 \3 \2", definition)
    try:
        parse_tree(repaired)
    except PgError:
        return definition
    return repaired


def _is_table_query(select: Tree) -> bool:
    targets = select.get("targetList") or []
    froms = select.get("fromClause") or []
    if len(targets) != 1 or len(froms) != 1 or "RangeVar" not in froms[0]:
        return False
    target = targets[0].get("ResTarget", {})
    value = target.get("val", {}).get("ColumnRef", {})
    return target.get("location") == -1 and value.get("location") == -1 \
        and value.get("fields") == [{"A_Star": {}}]


def _table_keyword(sql: str, toks: list[Any], start: int) -> Any:
    """The TABLE keyword token of the `TABLE [ONLY] [(] rel` query whose relation starts
    at `start`, or None."""
    index = next((i for i, tok in enumerate(toks) if tok.start == start), None)
    if index is None:
        return None
    index -= 1
    while index >= 0 and sql[toks[index].start:toks[index].end + 1].lower() in ("only", "("):
        index -= 1
    if index >= 0 and sql[toks[index].start:toks[index].end + 1].lower() == "table":
        return toks[index]
    return None


def _scanner_slices(sql: str) -> list[slice]:
    """Statement boundaries at top-level semicolons, by PostgreSQL's scanner."""
    try:
        toks = pgparser.scan(sql)
    except pgparser.ParseError as exc:
        raise _syntax_error(exc) from None
    out = []
    start = 0
    for tok in toks:
        if tok.name == "ASCII_59":
            out.append(slice(start, tok.start))
            start = tok.end + 1
    out.append(slice(start, len(sql)))
    return out


def ensure_parses(text: str) -> None:
    """A syntax error (42601) when PostgreSQL's parser, or gridpg's for XL statements,
    rejects the statement."""
    if not text or _only_comments(text):
        return
    from gridpg.sql.xl import extract_distribution, parse_xl_command

    if parse_xl_command(text) is not None:
        return
    clean, _ = extract_distribution(text)
    try:
        pgparser.parse_sql_json(clean)
    except pgparser.ParseError as exc:
        raise _syntax_error(exc) from None


def whole_string_syntax_error(sql: str) -> PgError | None:
    """PostgreSQL's own syntax error for a query string gridpg's parser refused. PostgreSQL
    parses the whole string at once, so a statement cut short is reported at the `;` after
    it (`syntax error at or near ";"`, the caret on it), where gridpg, which parses each
    statement without its semicolon, said "at end of input". None when the string parses
    as a whole, or holds an XL statement or clause, which PostgreSQL's parser does not know
    (gridpg's own error stands)."""
    from gridpg.sql.xl import extract_distribution, parse_xl_command

    try:
        pieces = [sql[piece].strip() for piece in _scanner_slices(sql)]
        if any(parse_xl_command(p) is not None or extract_distribution(p)[1] is not None for p in pieces if p):
            return None
    except PgError:
        return None
    try:
        pgparser.parse_sql_json(sql)
    except pgparser.ParseError as exc:
        error = _syntax_error(exc)
        if isinstance(error, ParserError) and not error.fields and str(error.args[0]).endswith("at end of input"):
            # (pglast gives no location at the end; PostgreSQL's is just past the last character)
            error.fields = {"S": "ERROR", "V": "ERROR", "C": SYNTAX_ERROR, "M": str(error.args[0]),
                            "P": str(len(sql) + 1)}
        return error
    return None


def _only_comments(text: str) -> bool:
    try:
        return all(t.name in ("SQL_COMMENT", "C_COMMENT") for t in pgparser.scan(text))
    except pgparser.ParseError:
        return False


def tokens(sql: str) -> list[Any]:
    """The scanner's tokens of `sql` without its comments (a fresh list; the tokens
    themselves are immutable). Every caller reads neighbouring tokens (`) ,` ends a
    VALUES row, `version (` is a call): a comment between them is white space to
    PostgreSQL, and was a token here (`VALUES (1, 'a') /* x */, (2, 'b')` sent the third
    row to every row's node; `tests/oracle/corpus/99_probe18.sql`)."""
    return list(_tokens_cached(sql))


def param_spans(sql: str) -> list[tuple[int, int, int]]:
    """Each `$n` of `sql`, as PostgreSQL's scanner finds it (never inside a string or a
    comment): its start, its end (exclusive) and n - 1, the index of its value."""
    return [(tok.start, tok.end + 1, int(sql[tok.start + 1:tok.end + 1]) - 1)
            for tok in _tokens_cached(sql) if tok.name == "PARAM"]


_COMMENT_TOKENS = frozenset(("SQL_COMMENT", "C_COMMENT"))


def scan_code(text: str) -> list[Any]:
    """PostgreSQL's scanner tokens of `text` without its comments, uncached; raises the
    scanner's own ParseError (for modules that read a routine's source token by token)."""
    return [t for t in pgparser.scan(text) if t.name not in _COMMENT_TOKENS]


@lru_cache(maxsize=16)
def _tokens_cached(sql: str) -> tuple[Any, ...]:
    # (a statement is scanned by several steps; a 10,000-row VALUES list, once each, took
    # most of its time in the coordinator)
    try:
        return tuple(t for t in pgparser.scan(sql) if t.name not in _COMMENT_TOKENS)
    except pgparser.ParseError as exc:
        raise _syntax_error(exc) from None


def closing_paren(toks: list[Any], first: int) -> int | None:
    """The index of the token closing the first parenthesis opened at or after token
    `first` (the scanner's tokens: quoted text and comments hold no parenthesis), None
    when it is not closed."""
    depth = 0
    for i in range(first, len(toks)):
        name = toks[i].name
        if name == "ASCII_40":
            depth += 1
        elif name == "ASCII_41" and depth:
            depth -= 1
            if depth == 0:
                return i
    return None


def fingerprint(sql: str) -> str:
    return str(pgparser.fingerprint(sql))


@lru_cache(maxsize=4096)
def _parse_cached(sql: str) -> str:
    return str(pgparser.parse_sql_json(sql))


def parse_tree(sql: str) -> Tree:
    """The parse tree of one statement: {'NodeType': {...}} (raises 42601 on bad syntax).

    Every `location` is an offset into `sql` as a Python string (PostgreSQL's parser counts
    bytes; the scanner's tokens, `tokens`, count characters): with a non-ASCII character
    before a node (`/* é */ SELECT ... FROM ONLY t`), text surgery by a byte location hit the
    wrong place, and the ONLY of a HASH table stayed (no rows, silently)."""
    try:
        text = _parse_cached(sql)
        doc = json.loads(text)
    except pgparser.ParseError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:
        raise stack_depth_exceeded() from None
    stmts = doc.get("stmts", [])
    if not stmts:
        return {}
    if len(stmts) > 1:
        raise PgError(SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement")
    stmt: Tree = stmts[0]["stmt"]
    if not sql.isascii():
        _to_char_offsets(stmt, _char_index(sql))
    if "MultiAssignRef" in text:
        _drop_repeated_sources(stmt)
    return stmt


def parse_sql(sql: str) -> Any:
    """pglast's AST of `sql` (its `parse_sql`). pglast gives this AST's `location`s as offsets
    into the Python string already, as `parse_tree` does for its JSON tree (which comes
    in bytes from the parser), so the two can be compared and used to cut the text."""
    from pglast import parse_sql as pglast_parse

    stmts = pglast_parse(sql)
    if "=" in sql:
        _RepeatedSources()(stmts)
    return stmts


class _RepeatedSources(Visitor):  # type: ignore[misc]
    """`_drop_repeated_sources` for pglast's AST."""

    def visit_MultiAssignRef(self, _ancestors: Any, node: Any) -> None:
        if node.colno != node.ncolumns:
            node.source = None


def _drop_repeated_sources(node: Any) -> None:
    """`SET (a, b) = (SELECT ...)` parses into one MultiAssignRef per column, each holding
    the same sub-select (PostgreSQL's parser shares one node; its JSON repeats it). Keep it
    on the last column only, where deparsers print it: a walker then sees its relations
    once, and a rewrite at their locations is not spliced twice (`... AS sgridpg_shards.x`)."""
    if isinstance(node, dict):
        ref = node.get("MultiAssignRef")
        if isinstance(ref, dict) and ref.get("colno") != ref.get("ncolumns"):
            ref.pop("source", None)
        for value in node.values():
            _drop_repeated_sources(value)
    elif isinstance(node, list):
        for value in node:
            _drop_repeated_sources(value)


def _char_index(sql: str) -> list[int]:
    """For each byte offset of `sql` in UTF-8, the character offset it falls in."""
    index: list[int] = []
    for position, char in enumerate(sql):
        index.extend([position] * len(char.encode()))
    index.append(len(sql))
    return index


def _to_char_offsets(node: Any, index: list[int]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "location" and isinstance(value, int) and 0 <= value < len(index):
                node[key] = index[value]
            else:
                _to_char_offsets(value, index)
    elif isinstance(node, list):
        for value in node:
            _to_char_offsets(value, index)


def comment_end(sql: str, pos: int) -> int:
    """Past the block comment starting at `pos` (nested ones inside, as PostgreSQL's
    scanner reads them); the text's end when it is not closed."""
    depth = 0
    while pos < len(sql):
        if sql.startswith("/*", pos):
            depth += 1
            pos += 2
        elif sql.startswith("*/", pos):
            depth -= 1
            pos += 2
            if depth == 0:
                return pos
        else:
            pos += 1
    return pos


def node_type(stmt: Tree) -> str:
    return next(iter(stmt)) if stmt else ""


def do_arguments(do: Tree) -> dict[str, str]:
    """A DoStmt node's arguments by name: its body ("as") and, when given, "language"."""
    out = {}
    for arg in do.get("args", []):
        elem = arg.get("DefElem", {})
        value = elem.get("arg", {}).get("String", {}).get("sval")
        if value is not None:
            out[elem.get("defname")] = value
    return out


class ParserError(PgError):
    """A statement PostgreSQL's parser (through pglast) refuses: always 42601 here, as
    pglast does not carry the SQLSTATE PostgreSQL's scanner and grammar give some of these
    (22025 for an invalid escape, 0A000 for Unicode escapes without standard conforming
    strings, ...); the session asks a PostgreSQL server for its own (frontend/statements.py)."""


def _syntax_error(exc: pgparser.ParseError) -> PgError:
    message = exc.args[0] if exc.args else str(exc)
    if message == "stack depth limit exceeded":  # PostgreSQL's parser ran out of its stack
        return stack_depth_exceeded()
    error = ParserError(SYNTAX_ERROR, str(message))
    if len(exc.args) > 1 and isinstance(exc.args[1], int):
        error.fields = {"S": "ERROR", "V": "ERROR", "C": SYNTAX_ERROR, "M": str(message),
                        "P": str(exc.args[1] + 1)}
    return error


# -- statements the coordinator handles itself -----------------------------------------

_TXN_WORDS = re.compile(r"^\s*(begin|start|commit|end|rollback|abort|savepoint|release|prepare|set)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TxnControl:
    kind: str  # begin | commit | rollback | savepoint | rollback_to | release | prepare | commit_prepared | rollback_prepared | set_transaction
    name: str = ""  # the savepoint, or the prepared transaction's identifier
    chain: bool = False
    snapshot: str | None = None  # SET TRANSACTION SNAPSHOT's identifier
    begin_sql: str = "BEGIN"
    is_start: bool = False
    isolation: str | None = None


_TXN_KINDS = {
    "TRANS_STMT_BEGIN": "begin", "TRANS_STMT_START": "begin", "TRANS_STMT_COMMIT": "commit",
    "TRANS_STMT_ROLLBACK": "rollback", "TRANS_STMT_SAVEPOINT": "savepoint",
    "TRANS_STMT_RELEASE": "release", "TRANS_STMT_ROLLBACK_TO": "rollback_to",
    "TRANS_STMT_PREPARE": "prepare", "TRANS_STMT_COMMIT_PREPARED": "commit_prepared",
    "TRANS_STMT_ROLLBACK_PREPARED": "rollback_prepared",
}


def statement_start(sql: str) -> int:
    """Offset of the statement's first token: past leading comments and white space.

    Comments are recognised by PostgreSQL's scanner (nested block comments, `--` lines), so
    `/* app:web */ rollback` starts at `rollback`. The common case, text that begins with
    a word, costs no scan.
    """
    stripped = sql.lstrip()
    if not stripped.startswith(("--", "/*")):
        return len(sql) - len(stripped)
    try:
        toks = pgparser.scan(sql)
    except pgparser.ParseError:
        return len(sql) - len(stripped)
    for tok in toks:
        if tok.name not in ("SQL_COMMENT", "C_COMMENT"):
            return int(tok.start)
    return len(sql)


def transaction_control(sql: str) -> TxnControl | None:
    """The transaction-control statement `sql` is, by its parse tree; None for any other."""
    head = sql[statement_start(sql):]
    match = _TXN_WORDS.match(head)
    if match is None:
        return None
    if match.group(1).lower() == "set":
        # (the second token, not a regular expression: `SET /* c */ TRANSACTION ...`)
        second = tokens(head)[1:2]
        if not second or head[second[0].start:second[0].end + 1].lower() != "transaction":
            return None
        stmt = parse_tree(sql)
        if "VariableSetStmt" not in stmt:
            return None
        body = stmt["VariableSetStmt"]
        snapshot = None
        if body.get("name") == "TRANSACTION SNAPSHOT":
            snapshot = body["args"][0]["A_Const"].get("sval", {}).get("sval", "")
        return TxnControl("set_transaction", snapshot=snapshot,
                          isolation=_isolation_option(body.get("args", [])))
    stmt = parse_tree(sql)
    body = stmt.get("TransactionStmt")
    if body is None:
        return None
    kind = _TXN_KINDS[body["kind"]]
    isolation = None
    if kind == "begin":
        modes = []
        for option in body.get("options", []):
            elem = option.get("DefElem", {})
            const = elem.get("arg", {}).get("A_Const", {})
            if elem.get("defname") == "transaction_isolation":
                isolation = const["sval"]["sval"]
                modes.append(f"ISOLATION LEVEL {isolation.upper()}")
            elif elem.get("defname") == "transaction_read_only":
                on = const.get("ival", {}).get("ival", 0) or const.get("boolval", {}).get("boolval")
                modes.append("READ ONLY" if on else "READ WRITE")
            elif elem.get("defname") == "transaction_deferrable":
                on = const.get("ival", {}).get("ival", 0) or const.get("boolval", {}).get("boolval")
                modes.append("DEFERRABLE" if on else "NOT DEFERRABLE")
        begin_sql = "BEGIN " + ", ".join(modes) if modes else "BEGIN"
        return TxnControl(
            kind, begin_sql=begin_sql, is_start=body["kind"] == "TRANS_STMT_START",
            isolation=isolation,
        )
    name = body.get("gid", "") if "prepare" in kind else body.get("savepoint_name", "")
    return TxnControl(kind, name=name, chain=bool(body.get("chain")))


def _isolation_option(options: list[dict[str, Any]]) -> str | None:
    """The level a list of transaction modes (DefElem) names, if any: the last one, as
    PostgreSQL applies the modes in order (`ISOLATION LEVEL REPEATABLE READ, ISOLATION
    LEVEL SERIALIZABLE` is SERIALIZABLE)."""
    level = None
    for option in options:
        elem = option.get("DefElem", {})
        if elem.get("defname") == "transaction_isolation":
            const = elem.get("arg", {}).get("A_Const", {})
            level = str(const["sval"]["sval"]) if "sval" in const else None
    return level


@dataclass(frozen=True)
class SetStatement:
    name: str  # lower case; "all" for RESET ALL; "session characteristics" for SET SESSION CHARACTERISTICS
    reset: bool
    is_local: bool
    value: str | None = None  # the first argument when it is a constant (a role's name)
    tag: str = "SET"  # the command tag: RESET for RESET, SET also for SET ... TO DEFAULT


def set_statement(sql: str) -> SetStatement | None:
    """SET/RESET (including SET ROLE and SET SESSION AUTHORIZATION), by the parse tree."""
    if not re.match(r"^(set|reset)\b", sql[statement_start(sql):], re.IGNORECASE):
        return None
    stmt = parse_tree(sql)
    body = stmt.get("VariableSetStmt")
    if body is None:
        return None
    kind = body["kind"]
    name = str(body.get("name", "all")).lower()
    if kind == "VAR_SET_MULTI" and name != "session characteristics":
        return None  # SET TRANSACTION: transaction control
    value = None
    args = body.get("args") or []
    if args and "A_Const" in args[0]:
        const = args[0]["A_Const"]
        if "sval" in const:
            value = str(const["sval"]["sval"])
        elif "ival" in const:
            value = str(const["ival"].get("ival", 0))
    return SetStatement(name, kind in ("VAR_RESET", "VAR_RESET_ALL", "VAR_SET_DEFAULT"),
                        bool(body.get("is_local")), value,
                        "RESET" if kind in ("VAR_RESET", "VAR_RESET_ALL") else "SET")


_STATE_WORDS = ("do", "call", "listen", "load")  # SQL PREPARE/EXECUTE: executor/prepared.py


def may_change_session_state(sql: str) -> bool:
    """True when a statement may change a backend connection's session state in a way the
    coordinator does not see (set_config(), DO, CALL, LISTEN, LOAD). A
    false positive costs a connection (it is closed, not pooled), never correctness."""
    lowered = sql.lower()
    if "set_config" in lowered:
        return True
    start = statement_start(sql)
    words = lowered[start : start + 8].split(None, 1)
    return bool(words) and words[0] in _STATE_WORDS


@dataclass(frozen=True)
class SetConfigCall:
    """One `set_config(name, value, is_local)` of a `SELECT set_config(...)[, ...]`: each
    argument is ("const", text or None), ("param", number) or ("expr", SQL text)."""

    column: str
    args: tuple[tuple[str, Any], ...]


# Statements whose set_config() calls are read here: a SELECT, and writes (PostgREST's
# upserts count inserted rows with set_config() in their WHERE clauses: run on the
# datanodes, each node counted alone and the catalog server read none of it, so the DO
# UPDATE's test saw the wrong count and skipped the update, silently)
_SET_CONFIG_STATEMENT = re.compile(r"^\(*\s*(?:select|with|insert|update|delete|merge)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SetConfigUse:
    """How a SELECT uses set_config(). `alone`: it is `SELECT set_config(...)[, ...]` and
    nothing else (no FROM, WHERE, other columns), as pg_dump's scripts and applications
    setting a custom variable write it: `calls` are all of them, carried out as SETs in their
    place. Otherwise (asyncpg's `SELECT current_setting('jit'), set_config('jit', 'off',
    false)`, pg_dump's `... FROM pg_settings WHERE ...`) the statement runs as it is and
    `calls` are those whose arguments are constants or parameters, which the session then
    applies as SETs (the others reach only the connection that ran it)."""

    calls: list[SetConfigCall]
    alone: bool


def set_config_use(sql: str) -> SetConfigUse | None:
    """How the statement uses set_config(); None when it does not call it. A SELECT or a
    write that calls it over anything but system catalogs is refused (0A000): it would run
    on datanodes' pooled connections, each with its own value, and the setting would be
    lost."""
    if "set_config" not in sql.lower() or not _SET_CONFIG_STATEMENT.match(sql[statement_start(sql):]):
        return None
    tree = parse_tree(sql)
    body = next((tree[k] for k in ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")
                 if k in tree), None)
    if body is None or not any(_funcname(c) == "set_config" for c in _nodes_of(body, "FuncCall")):
        return None
    alone = [_set_config_call(t.get("ResTarget", {})) for t in body.get("targetList", [])] if "SelectStmt" in tree else []
    if alone and not {k for k in body if k not in ("targetList", "limitOption", "op")} and all(alone):
        if any(kind == "expr" for c in alone for kind, _ in c.args):  # type: ignore[union-attr]
            alone = _with_expression_text(sql, alone)  # type: ignore[arg-type]
        return SetConfigUse(alone, True)  # type: ignore[arg-type]
    written = [body["relation"]] if isinstance(body.get("relation"), dict) else []  # (no RangeVar key)
    written += [stmt["relation"] for kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")
                for stmt in _nodes_of(body, kind) if isinstance(stmt.get("relation"), dict)]  # in WITH
    # a WITH query's name read in FROM is no table (kysely's migration lock: `WITH t AS
    # (SELECT set_config('lock_timeout', ...)) SELECT pg_advisory_lock(...) FROM t`)
    ctes = {cte.get("ctename") for cte in _nodes_of(tree, "CommonTableExpr")}
    for var in [*written, *_nodes_of(body, "RangeVar")]:
        schema = var.get("schemaname")
        if schema is None and var["relname"] in ctes:
            continue
        if schema not in ("pg_catalog", "information_schema") and not (schema is None and var["relname"].startswith("pg_")):
            raise PgError("0A000", "set_config() in a statement over tables is not supported by gridpg",
                          hint="call it alone: SELECT set_config(name, value, is_local)",
                          detail="the query runs on a datanode's pooled connection; the session's "
                                 "other connections would not see the setting")
    found = []
    for call in _nodes_of(body, "FuncCall"):
        args = tuple(_argument(a) for a in call.get("args", []))
        if _funcname(call) != "set_config" or len(args) != 3:
            continue
        if all(kind in ("const", "param") for kind, _ in args) and args[0][1] is not None:
            found.append(SetConfigCall("set_config", args))
        elif args[0][0] in ("const", "param"):
            # a setting named, its value computed: it would reach the one connection that
            # ran the statement, not the session's model, and later statements would run
            # with the old value, silently (a name read from a column, as pg_dump reads
            # pg_settings, runs on the catalog server as before)
            raise PgError("0A000", "set_config() with an expression argument inside a larger statement "
                          "is not supported by gridpg",
                          hint="call it alone: SELECT set_config(name, value, is_local), with any "
                               "expression as its value")
    return SetConfigUse(found, False)


def ast_nodes(root: Any, kind: type) -> Iterator[Any]:
    """Every `kind` node of a pglast AST (a node, or a tuple or list of them), depth first:
    `nodes_of` for the parsed tree's objects rather than its JSON form."""
    if isinstance(root, (tuple, list)):
        for item in root:
            yield from ast_nodes(item, kind)
    elif isinstance(root, ast.Node):
        if isinstance(root, kind):
            yield root
        for attr in root:
            yield from ast_nodes(getattr(root, attr), kind)


def nodes_of(node: Any, kind: str) -> Any:
    """Every `kind` node of a parse tree, depth first."""
    return _nodes_of(node, kind)


def funcname(call: Tree) -> str:
    """A FuncCall's name when unqualified or in pg_catalog; else ''."""
    return _funcname(call)


def lone_call(sql: str) -> tuple[str, str] | None:
    """(function name, output column name) of `SELECT [pg_catalog.]f() [AS name]` alone:
    no argument, no other item, no clause (the admin calls gridpg runs on every server,
    txn/exported.py and commands/server_config.py); None for any other statement."""
    try:
        tree = parse_tree(sql)
    except PgError:
        return None
    select = tree.get("SelectStmt")
    if not isinstance(select, dict) or set(select) - {"targetList", "limitOption", "op"}:
        return None
    targets = select.get("targetList") or []
    if len(targets) != 1:
        return None
    target = targets[0].get("ResTarget") or {}
    call = (target.get("val") or {}).get("FuncCall")
    if not isinstance(call, dict) or call.get("args") or set(call) - {"funcname", "location", "funcformat"}:
        return None
    name = _funcname(call)
    return (name, target.get("name") or name) if name else None


def argument(node: Tree) -> tuple[str, Any]:
    """A function argument: ("const", text or None), ("param", number) or ("expr", node)."""
    return _argument(node)


def _nodes_of(node: Any, kind: str) -> Any:
    """Every `kind` node of the tree, depth first."""
    if isinstance(node, dict):
        if kind in node:
            yield node[kind]
        for value in node.values():
            yield from _nodes_of(value, kind)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes_of(value, kind)


def _with_expression_text(sql: str, calls: list[SetConfigCall]) -> list[SetConfigCall]:
    """Expression arguments as SQL text (PostgreSQL's deparse through pglast)."""
    from pglast.stream import RawStream

    targets = parse_sql(sql)[0].stmt.targetList
    out = []
    for call, target in zip(calls, targets, strict=True):
        args = tuple((kind, RawStream()(node) if kind == "expr" else value)
                     for (kind, value), node in zip(call.args, target.val.args, strict=True))
        out.append(SetConfigCall(call.column, args))
    return out


def _funcname(call: Tree) -> str:
    names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    return names[0] if len(names) == 1 else ""


def _set_config_call(target: Tree) -> SetConfigCall | None:
    call = target.get("val", {}).get("FuncCall")
    if not isinstance(call, dict) or _funcname(call) != "set_config" or len(call.get("args", [])) != 3 \
            or any(k in call for k in ("agg_order", "agg_filter", "over", "agg_star", "agg_distinct", "func_variadic")):
        return None
    return SetConfigCall(str(target.get("name", "set_config")), tuple(_argument(a) for a in call["args"]))


def _argument(node: Tree) -> tuple[str, Any]:
    cast = node.get("TypeCast")
    if cast is not None and any(k in cast["arg"] for k in ("A_Const", "ParamRef")):
        node = cast["arg"]  # 'x'::text, $1::text: the value's text is the same
    if "ParamRef" in node:
        return ("param", int(node["ParamRef"]["number"]))
    const = node.get("A_Const")
    if const is not None:
        if const.get("isnull"):
            return ("const", None)
        if "sval" in const:
            return ("const", str(const["sval"].get("sval", "")))
        if "boolval" in const:
            return ("const", "true" if const["boolval"].get("boolval") else "false")
        if "ival" in const:
            return ("const", str(const["ival"].get("ival", 0)))
        if "fval" in const:
            return ("const", str(const["fval"].get("fval", "")))
    return ("expr", node)
