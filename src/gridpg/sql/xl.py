"""Postgres-XL and Greenplum statement syntax that PostgreSQL's parser does not know.

`extract_distribution` cuts `DISTRIBUTE BY ...`, `DISTRIBUTED BY/RANDOMLY/REPLICATED` and
`TO NODE (...)` / `TO GROUP g` out of a CREATE TABLE, by token positions, and returns the
plain statement plus what was asked. `parse_xl_command` recognizes EXECUTE DIRECT, CREATE/
ALTER/DROP NODE [GROUP], PAUSE/UNPAUSE CLUSTER, CREATE BARRIER and CLEAN CONNECTION.

Both read the tokens of PostgreSQL's own scanner, never the raw text: comments, string
constants of every kind (`'...'`, `E'...'`, `$tag$...$tag$`) and identifiers (`"..."`,
`U&"..."`) are single tokens, so the words `distribute`, `node`, `modulo`, ... inside them,
or used as ordinary table and column names, never look like a clause. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gridpg.errors import SYNTAX_ERROR, PgError
from gridpg.sql.parse import parse_tree, statement_start, tokens


@dataclass(frozen=True)
class DistributionSpec:
    method: str  # hash | modulo | roundrobin | replication
    column: str | None = None
    nodes: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class Tok:
    """One significant scanner token: its kind, span and (for bare words) the folded word."""

    name: str
    start: int
    end: int  # exclusive
    text: str

    @property
    def word(self) -> str:
        """The lower-cased keyword or unquoted identifier; "" for anything else."""
        first = self.text[:1]
        if self.name in _NOT_WORDS or not (first.isalpha() or first == "_"):
            return ""
        return _fold(self.text)


_NOT_WORDS = frozenset(("SCONST", "UIDENT", "USCONST", "BCONST", "XCONST", "ICONST", "FCONST",
                        "PARAM", "Op"))
_COMMENTS = frozenset(("SQL_COMMENT", "C_COMMENT"))
_METHODS = {"hash": "hash", "modulo": "modulo", "roundrobin": "roundrobin",
            "replication": "replication", "replicated": "replication", "randomly": "roundrobin"}
_TABLE_PREFIX = frozenset(("global", "local", "temp", "temporary", "unlogged"))


def _fold(word: str) -> str:
    """PostgreSQL's folding of an unquoted identifier: ASCII letters only."""
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in word)


def significant_tokens(sql: str) -> list[Tok]:
    """The scanner's tokens without comments (raises 42601 on text it cannot scan)."""
    return [Tok(t.name, t.start, t.end + 1, sql[t.start : t.end + 1])
            for t in tokens(sql) if t.name not in _COMMENTS]


def extract_distribution(sql: str) -> tuple[str, DistributionSpec | None]:
    """(sql without the clauses, the distribution asked for or None)."""
    lowered = sql.lower()
    if "distribut" not in lowered and "node" not in lowered and "group" not in lowered:
        return sql, None  # cheap: none of the clause words can be there
    toks = significant_tokens(sql)
    body = _create_table_body(toks)
    if body is None:
        # Only CREATE TABLE takes these clauses: `GRANT ... TO GROUP g`, `RENAME TO node`
        # or a column named "distributed" elsewhere are plain PostgreSQL.
        return sql, None
    cut: list[tuple[int, int]] = []
    spec: dict[str, object] = {}
    _scan_clauses(toks, body, spec, cut)
    if not cut:
        return sql, None
    out = []
    pos = 0
    for start, end in sorted(cut):
        out.append(sql[pos:start])
        pos = end
    out.append(sql[pos:])
    method = str(spec.get("method", "hash" if spec.get("column") else ""))
    return "".join(out).strip(), DistributionSpec(
        method=method, column=spec.get("column"),  # type: ignore[arg-type]
        nodes=tuple(spec.get("nodes", ())),  # type: ignore[arg-type]
        group=spec.get("group"),  # type: ignore[arg-type]
    )


def _create_table_body(toks: list[Tok]) -> int | None:
    """Index of the first token after the table's name in CREATE [...] TABLE [IF NOT
    EXISTS] name; None when the statement is not a CREATE TABLE."""
    if not toks or toks[0].word != "create":
        return None
    i = 1
    while i < len(toks) and toks[i].word in _TABLE_PREFIX:
        i += 1
    if i >= len(toks) or toks[i].word != "table":
        return None
    i += 1
    if [t.word for t in toks[i : i + 3]] == ["if", "not", "exists"]:
        i += 3
    i += 1  # the name
    while i + 1 < len(toks) and toks[i].text == ".":
        i += 2
    return i


def _scan_clauses(toks: list[Tok], i: int, spec: dict[str, object], cut: list[tuple[int, int]]) -> None:
    """Find the clauses at nesting depth 0 after the table name. After the column list of
    CREATE TABLE t (...) a bare `distribute` can only be the clause (PostgreSQL has nothing
    there), so a malformed one gets XL's error; elsewhere (CREATE TABLE AS's query) only
    the complete shapes `DISTRIBUTE BY`, `DISTRIBUTED BY|RANDOMLY|REPLICATED`,
    `TO NODE (` and `TO GROUP` count."""
    depth = 0
    after_columns = False
    has_columns = i < len(toks) and toks[i].text == "("
    while i < len(toks):
        tok = toks[i]
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            after_columns = after_columns or (has_columns and depth == 0)
        elif depth == 0 and _is_distribute(toks, i, lenient=after_columns):
            i = _read_distribute(toks, i, spec, cut)
            continue
        elif depth == 0 and _is_to_target(toks, i, lenient=after_columns):
            i = _read_to(toks, i, spec, cut)
            continue
        i += 1


def _is_distribute(toks: list[Tok], i: int, lenient: bool) -> bool:
    word = toks[i].word
    if word not in ("distribute", "distributed"):
        return False
    if lenient:
        return True
    nxt = toks[i + 1].word if i + 1 < len(toks) else ""
    return nxt == "by" or (word == "distributed" and nxt in ("randomly", "replicated"))


def _is_to_target(toks: list[Tok], i: int, lenient: bool) -> bool:
    if toks[i].word != "to" or i + 1 >= len(toks) or toks[i + 1].word not in ("node", "group"):
        return False
    if lenient:
        return True
    if i > 0 and toks[i - 1].word == "similar":  # `x SIMILAR TO node` is an expression
        return False
    return toks[i + 1].word == "group" or (i + 2 < len(toks) and toks[i + 2].text == "(")


def _read_distribute(toks: list[Tok], i: int, spec: dict[str, object], cut: list[tuple[int, int]]) -> int:
    start = toks[i].start
    word = toks[i].word
    j = i + 1
    if j >= len(toks) or toks[j].text == ";":
        raise PgError(SYNTAX_ERROR, "syntax error at end of input in DISTRIBUTE BY clause")
    nxt = toks[j].word
    if word == "distributed" and nxt in ("randomly", "replicated"):
        spec["method"] = _METHODS[nxt]
        cut.append((start, toks[j].end))
        return j + 1
    if nxt != "by":
        raise PgError(SYNTAX_ERROR, f'syntax error at or near "{toks[j].text}"')
    j += 1
    if word == "distributed":  # Greenplum: DISTRIBUTED BY (col)
        method = "hash"
    else:
        if j >= len(toks) or toks[j].text == ";":
            raise PgError(SYNTAX_ERROR, "syntax error at end of input in DISTRIBUTE BY clause")
        if toks[j].word not in _METHODS:
            raise PgError(SYNTAX_ERROR, f'unknown distribution method "{toks[j].text}"',
                          hint="use HASH(col), MODULO(col), ROUNDROBIN or REPLICATION")
        method = _METHODS[toks[j].word]
        j += 1
    spec["method"] = method
    if method in ("hash", "modulo"):
        column, j = _parenthesized_column(toks, j, method)
        spec["column"] = column
    cut.append((start, toks[j - 1].end))
    return j


def _parenthesized_column(toks: list[Tok], j: int, method: str) -> tuple[str, int]:
    """`( column )`: the column's name and the index after the closing parenthesis."""
    if j >= len(toks) or toks[j].text != "(":
        raise PgError(SYNTAX_ERROR, f"DISTRIBUTE BY {method.upper()} takes one column in parentheses")
    close = j + 1
    while close < len(toks) and toks[close].text != ")":
        close += 1
    if close >= len(toks) or close == j + 1:
        raise PgError(SYNTAX_ERROR, f"DISTRIBUTE BY {method.upper()} takes one column in parentheses")
    return _identifier(toks[j + 1 : close], f"DISTRIBUTE BY {method.upper()} takes one column in parentheses"), close + 1


def _read_to(toks: list[Tok], i: int, spec: dict[str, object], cut: list[tuple[int, int]]) -> int:
    start = toks[i].start
    kind = toks[i + 1].word
    j = i + 2
    if kind == "group":
        if j >= len(toks) or toks[j].text == ";":
            raise PgError(SYNTAX_ERROR, "TO GROUP needs a group name")
        spec["group"] = _identifier([toks[j]], "TO GROUP needs a group name")
        cut.append((start, toks[j].end))
        return j + 1
    if j >= len(toks) or toks[j].text != "(":
        raise PgError(SYNTAX_ERROR, "TO NODE needs a list of nodes in parentheses")
    names, j = _name_list(toks, j + 1)
    if j >= len(toks):
        raise PgError(SYNTAX_ERROR, "syntax error at end of input in TO NODE clause")
    if not names:
        raise PgError(SYNTAX_ERROR, "TO NODE needs a list of nodes in parentheses")
    spec["nodes"] = names
    cut.append((start, toks[j].end))
    return j + 1


def _name_list(toks: list[Tok], j: int) -> tuple[list[str], int]:
    """Comma-separated names up to `)` (or the end): the names and the index of `)`."""
    names: list[str] = []
    while j < len(toks) and toks[j].text not in (")", ";"):
        if toks[j].text != ",":
            names.append(_identifier([toks[j]], "a node name was expected"))
        j += 1
    if j < len(toks) and toks[j].text == ";":
        return names, len(toks)
    return names, j


def _identifier(toks: list[Tok], message: str) -> str:
    """One identifier as PostgreSQL reads it (folded, quoted, U&"..." with UESCAPE)."""
    if not toks:
        raise PgError(SYNTAX_ERROR, message)
    if len(toks) == 1 and toks[0].word:
        return toks[0].word
    if len(toks) == 1 and toks[0].text.startswith('"'):
        return toks[0].text[1:-1].replace('""', '"')
    kinds = [t.name for t in toks]
    if kinds not in (["UIDENT"], ["UIDENT", "UESCAPE", "SCONST"]):
        raise PgError(SYNTAX_ERROR, message)
    ref = parse_tree("SELECT " + " ".join(t.text for t in toks))["SelectStmt"]["targetList"][0]
    return str(ref["ResTarget"]["val"]["ColumnRef"]["fields"][0]["String"]["sval"])


def _string(tok: Tok) -> str:
    """A string constant's value ('...', E'...', $$...$$, U&'...') as PostgreSQL reads it."""
    const = parse_tree("SELECT " + tok.text)["SelectStmt"]["targetList"][0]["ResTarget"]["val"]
    return str(const["A_Const"]["sval"]["sval"])


# -- cluster commands ------------------------------------------------------------------


@dataclass(frozen=True)
class XlCommand:
    kind: str  # execute_direct | create_node | alter_node | drop_node | create_node_group | drop_node_group | pause | unpause | barrier | clean_connection
    name: str = ""
    nodes: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    sql: str = ""


_FIRST_WORDS = ("execute", "create", "alter", "drop", "pause", "unpause", "clean")


def parse_xl_command(sql: str) -> XlCommand | None:
    """The XL cluster command `sql` is, by its tokens; None for anything else."""
    head = sql[statement_start(sql) : statement_start(sql) + 8].lower()
    if not head.startswith(_FIRST_WORDS):
        return None
    toks = significant_tokens(sql)
    while toks and toks[-1].text == ";":
        toks.pop()
    words = [t.word for t in toks]
    if words in (["pause", "cluster"], ["unpause", "cluster"]):
        return XlCommand(words[0])
    if words[:2] == ["clean", "connection"]:
        return XlCommand("clean_connection")
    if words[:3] == ["execute", "direct", "on"]:
        return _execute_direct(toks)
    if words[:2] == ["create", "barrier"]:
        name = "" if len(toks) < 3 else (_string(toks[2]) if toks[2].name == "SCONST" else _identifier(toks[2:3], "a barrier name was expected"))
        return XlCommand("barrier", name=name)
    if len(toks) >= 3 and words[0] in ("create", "alter", "drop") and words[1] == "node":
        return _node_command(toks)
    return None


def _execute_direct(toks: list[Tok]) -> XlCommand | None:
    """EXECUTE DIRECT ON (node [, ...]) 'statement'."""
    if len(toks) < 5 or toks[3].text != "(":
        return None
    names, close = _name_list(toks, 4)
    if close + 2 != len(toks) or toks[close + 1].name != "SCONST" or not names:
        return None
    return XlCommand("execute_direct", nodes=tuple(names), sql=_string(toks[close + 1]))


def _node_command(toks: list[Tok]) -> XlCommand | None:
    """CREATE|ALTER|DROP NODE name [WITH (k = v, ...)] and CREATE|DROP NODE GROUP g [WITH ...]."""
    verb = toks[0].word
    group = toks[2].word == "group" and len(toks) >= 4
    at = 3 if group else 2
    name = _identifier(toks[at : at + 1], "a node name was expected")
    rest = toks[at + 1 :]
    kind = f"{verb}_node" + ("_group" if group else "")
    if rest and rest[0].word == "with":
        rest = rest[1:]
    if group:
        names = [_identifier([t], "a node name was expected") for t in rest if t.text not in "(),"]
        return XlCommand(kind, name=name, nodes=tuple(names))
    return XlCommand(kind, name=name, options=_options(rest))


def _options(toks: list[Tok]) -> dict[str, str]:
    """`(key = value, ...)`; a value is a string constant or the words written together; a
    key alone means true."""
    out: dict[str, str] = {}
    inner = toks[1:-1] if toks and toks[0].text == "(" and toks[-1].text == ")" else toks
    item: list[Tok] = []
    for tok in [*inner, Tok("ASCII_44", 0, 0, ",")]:
        if tok.text != ",":
            item.append(tok)
            continue
        if len(item) >= 3 and item[1].text == "=":
            key = item[0].word or _identifier(item[:1], "an option name was expected")
            value = item[2:]
            out[key] = _string(value[0]) if len(value) == 1 and value[0].name == "SCONST" \
                else "".join(t.text for t in value)
        elif len(item) == 1:  # a bare option is a true one, as XL's `WITH (PRIMARY)`
            out[item[0].word or _identifier(item, "an option name was expected")] = "true"
        elif item:
            raise PgError(SYNTAX_ERROR, f'syntax error at or near "{item[0].text}"')
        item = []
    return out
