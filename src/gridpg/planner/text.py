"""Statement text helpers of the planner: splicing, keyword offsets, literal
normalization, the `version()` rewrite and the text Describe sees. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gridpg.errors import UNDEFINED_OBJECT, PgError
from gridpg.planner import analyze
from gridpg.planner.calls import SEVERAL, describe_stand_in, function_call
from gridpg.planner.cluster_views import describe_stand_in as views_stand_in
from gridpg.planner.cluster_views import view_refs
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident
from gridpg.sql.xl import extract_distribution


def describe_sql(sql: str) -> str:
    """The text the catalog server describes for a statement (Parse/Describe)."""
    clean, _ = extract_distribution(sql)
    if "_table" in clean or "gridpg_" in clean:
        try:
            call = function_call(sqlparse.parse_tree(clean))
        except PgError:
            call = None
        if call is not None:
            several = [n for n, _ in call[1]] if call[0] == SEVERAL else None
            return describe_stand_in(call[0], clean, several)
    if "gridpg_" in clean:
        try:
            views = view_refs(analyze.relations(sqlparse.parse_tree(clean)))
        except PgError:
            views = []
        if views:
            return views_stand_in(clean, views)
    return rewrite_version(clean)


def splice(sql: str, replacements: list[tuple[int, int, str]]) -> str:
    """`sql` with each (start, end) span replaced by its text."""
    out = []
    pos = 0
    for start, end, text in sorted(replacements):
        out.append(sql[pos:start])
        out.append(text)
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def quote(name: str) -> str:
    return quote_ident(name)


def relation_span(sql: str, tokens: list[Any], ref: analyze.RelRef) -> tuple[int, int]:
    """Start and end offsets of a table reference's name (schema-qualified) in the text."""
    start = ref.location
    for i, tok in enumerate(tokens):
        if tok.start == start:
            end_index = i
            if ref.schema:
                end_index = i + 2
            return start, tokens[end_index].end + 1
    raise PgError(UNDEFINED_OBJECT, f'could not locate "{ref.name}" in the statement')


def top_level_keywords(sql: str, tokens: list[Any], words: tuple[str, ...]) -> list[int]:
    """Offsets of the first top-level (not parenthesized) occurrence of each keyword, or -1."""
    found = {w: -1 for w in words}
    depth = 0
    for tok in tokens:
        text = sql[tok.start : tok.end + 1]
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and text.lower() in found and found[text.lower()] < 0:
            found[text.lower()] = tok.start
    return [found[w] for w in words]


# string and number literals; a double-quoted identifier is matched too, to be skipped
# whole (`"v 6"`, `"it's"` are names, not a name around a literal)
LITERALS = re.compile(r'"(?:[^"]|"")*"|' r"'(?:[^']|'')*'|(?<![\w$.])\d+(?:\.\d+)?(?![\w.])")


def normalize_literals(sql: str) -> tuple[str, list[str | None]] | None:
    """`sql` with plain string and number literals replaced by $1, $2, ... and their values;
    None when the text holds anything this cannot read safely (parameters, comments,
    backslashes, prefixed strings such as E'' or B'')."""
    if "$" in sql or "--" in sql or "/*" in sql or "\\" in sql:
        return None
    values: list[str | None] = []
    out = []
    pos = 0
    for match in LITERALS.finditer(sql):
        text = match.group()
        if text.startswith('"'):
            continue
        start = match.start()
        if text.startswith("'") and start and (sql[start - 1].isalnum() or sql[start - 1] in "_&"):
            return None
        out.append(sql[pos:start])
        values.append(text[1:-1].replace("''", "'") if text.startswith("'") else text)
        out.append(f"${len(values)}")
        pos = match.end()
    if not values:
        return None
    out.append(sql[pos:])
    return "".join(out), values


class IntTemplate:
    """A query string's shape whose literals are all integers of 1-9 digits: the text
    around them fixed, as one pattern. A string of the same shape reads the same way: the
    same single statement, the same literal-free form (its literals the same tokens, with
    the same type: int4), so `match_template` gives what `sqlparse.split`,
    `normalize_literals` and `executor.routed.literal_types` give, with one regex call."""

    __slots__ = ("end_trim", "pattern", "start", "text", "types")

    def __init__(self, pattern: re.Pattern[str], start: int, end_trim: int, text: str,
                 types: tuple[int, ...]) -> None:
        self.pattern = pattern
        self.start = start  # the statement is the query string less `start` leading
        self.end_trim = end_trim  # and `end_trim` trailing characters (space, `;`)
        self.text = text  # its literal-free form
        self.types = types


# The key of a query string among the templates: the string without its integer literals
# (digits between the boundaries LITERALS reads); the template's pattern then checks.
_INT_LITERAL = re.compile(r"(?<![\w$.])[0-9]{1,9}(?![\w.])")
_TEMPLATES: dict[str, IntTemplate] = {}
_TEMPLATE_LIMIT = 2000


def match_template(sql: str) -> tuple[IntTemplate, tuple[str, ...]] | None:
    """The template `sql` has the shape of and its literals, or None (read it in full)."""
    template = _TEMPLATES.get(_INT_LITERAL.sub("", sql))
    if template is None:
        return None
    found = template.pattern.fullmatch(sql)
    return None if found is None else (template, found.groups())


def learn_template(sql: str, statement: str, text: str, literals: Sequence[str | None],
                   types: tuple[int, ...]) -> None:
    """Remember the shape of `sql`, whose one statement `statement` has the literal-free
    form `text` with these literals and types, when every literal is an integer of 1-9
    digits and the statement is `sql` less leading and trailing characters (the splitter
    did not rewrite it)."""
    if not literals or len(types) != len(literals) \
            or not all(v is not None and 0 < len(v) < 10 and v.isascii() and v.isdigit() for v in literals):
        return  # (a string or decimal literal, or a long one: read in full every time)
    start = sql.find(statement)
    if start < 0:
        return
    parts = []
    pos = 0
    found = [m for m in LITERALS.finditer(statement) if not m.group().startswith('"')]
    if len(found) != len(literals):
        return
    for match, literal in zip(found, literals):
        if match.group() != literal:  # (each literal is its digits: checked above)
            return
        parts.append(re.escape(statement[pos : match.start()]))
        pos = match.end()
    parts.append(re.escape(statement[pos:]))
    pattern = re.compile(re.escape(sql[:start]) + "([0-9]{1,9})".join(parts) + re.escape(sql[start + len(statement) :]))
    if len(_TEMPLATES) >= _TEMPLATE_LIMIT:
        _TEMPLATES.clear()
    _TEMPLATES[_INT_LITERAL.sub("", sql)] = IntTemplate(pattern, start, len(sql) - start - len(statement), text,
                                                        types)


def literal_start(sql: str, number: int) -> int | None:
    """Where the `number`-th (1-based) literal that normalize_literals turns into
    `$number` starts in `sql`, None when it did not turn `sql` into parameters."""
    if normalize_literals(sql) is None:
        return None
    literals = (m for m in LITERALS.finditer(sql) if not m.group().startswith('"'))
    match = next((m for i, m in enumerate(literals, 1) if i == number), None)
    return match.start() if match is not None else None


# What gridpg.version() answers on a catalog server, as an expression any server evaluates
# (a datanode has no schema gridpg): PostgreSQL's version() with gridpg's name in it (the
# name quoted, so that rewrite_version leaves this call alone)
VERSION_EXPRESSION = ("pg_catalog.regexp_replace(pg_catalog.\"version\"(), '^(PostgreSQL \\S+)', "
                      "'\\1 (gridpg 0.1.0)')")


def rewrite_version(sql: str, inline: bool = False) -> str:
    """`version()` names gridpg: calls to it are pointed at gridpg.version() (with `inline`,
    for statements the datanodes run, replaced by its expression)."""
    if "version" not in sql.lower():
        return sql
    try:
        toks = sqlparse.tokens(sql)
    except PgError:
        return sql
    replacements = []
    for i, tok in enumerate(toks[:-1]):
        word = sql[tok.start : tok.end + 1]
        if word.lower() == "version" and sql[toks[i + 1].start : toks[i + 1].end + 1] == "(":
            prev = sql[toks[i - 1].start : toks[i - 1].end + 1] if i else ""
            if prev == ".":
                if i >= 2 and sql[toks[i - 2].start : toks[i - 2].end + 1].lower() == "pg_catalog":
                    replacements.append(_version_call(sql, toks, i - 2, i, inline))
                continue
            replacements.append(_version_call(sql, toks, i, i, inline))
    return splice(sql, replacements)


def _version_call(sql: str, toks: list[Any], first: int, name: int, inline: bool) -> tuple[int, int, str]:
    """The replacement of `[pg_catalog.]version` (tokens first..name): the name, or with
    `inline` the whole call `version()` by the expression (named `version`, as PostgreSQL
    names the column)."""
    if not inline:
        return (toks[first].start, toks[name].end + 1, "gridpg.version")
    close = name + 2 if name + 2 < len(toks) and sql[toks[name + 2].start] == ")" else None
    if close is None:
        return (toks[first].start, toks[name].end + 1, "pg_catalog.version")
    return (toks[first].start, toks[close].end + 1, f"(SELECT {VERSION_EXPRESSION} AS version)")
