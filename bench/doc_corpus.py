"""A corpus of SQL from PostgreSQL's documentation, for bench/regress_replay.py (opt-in).

    python bench/doc_corpus.py /path/to/postgresql-18/doc/src/sgml [--out /tmp/corpus-docs]
        [--files advanced,query,...]

Owns turning the SGML sources of PostgreSQL's manual into psql scripts: the SQL of every
`<programlisting>` block, and each function example of the form
`<literal>expr</literal> <returnvalue>...</returnvalue>` (func.sgml's tables) as
`SELECT expr;`. Markup is stripped and the entities (&lt; &gt; &amp; ...) unescaped; a
block written as a psql session keeps only what follows the prompts (`=>`, `=#`, `->`),
and result tables printed after a statement (a header, a `---+---` rule, rows, `(n rows)`)
are dropped. Blocks that are templates (`<replaceable>`), elided (`...`) or not SQL (C,
shell, configuration files: the first word is not an SQL command) are left out, and so are
statements that act on the whole server rather than a session (ALTER SYSTEM, databases,
tablespaces, files read or written by the server). One `<name>.sql` per SGML file is
written to the output directory (ref/select.sgml -> ref_select.sql), and a `schedule` that
replays them in the manual's order (the tutorial's tables first):

    python bench/regress_replay.py /tmp/corpus-docs --files all \\
        --schedule /tmp/corpus-docs/schedule --no-record --report /tmp/docs-report.txt

`--contrib` takes the chapters of the contrib modules instead (CONTRIB: hstore, ltree,
pg_trgm, ...), each script opened by the CREATE EXTENSION its examples assume.

The text is PostgreSQL's, not ours: it is written under /tmp and never enters the
repository. The script only reads and writes files.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from psql_script import Meta, read_script

# The manual's chapters whose examples are SQL a user writes (the SQL reference pages,
# ref/*.sgml, are always taken).
CHAPTERS = [
    "query", "advanced", "dml", "queries", "ddl", "datatype", "func", "plpgsql", "xfunc",
    "xaggr", "xtypes", "trigger", "event-trigger", "rowtypes", "array", "rangetypes",
    "textsearch", "json", "mvcc", "rules", "syntax", "typeconv", "indices", "perform",
    "datetime", "plpgsql", "spi", "ecpg", "logicaldecoding", "maintenance", "manage-ag",
    "user-manag", "charset", "protocol", "sources", "xindex", "xplang", "limits",
]
# `--contrib`: the chapters of contrib modules shipped with PostgreSQL, each script opened
# by the CREATE EXTENSION its examples take for granted (the only line not the manual's).
CONTRIB = {
    "hstore": "hstore", "citext": "citext", "cube": "cube", "earthdistance": "earthdistance",
    "fuzzystrmatch": "fuzzystrmatch", "intarray": "intarray", "isn": "isn", "ltree": "ltree",
    "pgtrgm": "pg_trgm", "seg": "seg", "tablefunc": "tablefunc", "unaccent": "unaccent",
    "btree-gist": "btree_gist", "btree-gin": "btree_gin", "intagg": "intagg", "lo": "lo",
    "dict-int": "dict_int", "dict-xsyn": "dict_xsyn", "tsm-system-rows": "tsm_system_rows",
    "tsm-system-time": "tsm_system_time", "bloom": "bloom",
}
COMMANDS = {
    "abort", "alter", "analyze", "begin", "call", "checkpoint", "close", "cluster", "comment",
    "commit", "copy", "create", "deallocate", "declare", "delete", "discard", "do", "drop",
    "end", "execute", "explain", "fetch", "grant", "import", "insert", "listen", "lock",
    "merge", "move", "notify", "prepare", "reassign", "refresh", "reindex", "release",
    "reset", "revoke", "rollback", "savepoint", "security", "select", "set", "show", "start",
    "table", "truncate", "unlisten", "update", "vacuum", "values", "with", "(",
}
SERVER_WIDE = re.compile(
    r"^\s*(alter\s+system|(create|alter|drop)\s+(database|tablespace)|load\b|"
    r"copy\b.*\b(to|from)\s+(program|'))", re.IGNORECASE | re.DOTALL)
SERVER_FUNCTIONS = re.compile(
    r"pg_(terminate|cancel)_backend|pg_reload_conf|pg_promote|pg_(read|write)_\w*file|"
    r"lo_(import|export)|pg_ls_\w+dir|pg_rotate_logfile|pg_switch_wal|pg_create_\w+_slot|"
    r"pg_log_backend", re.IGNORECASE)

_BLOCK = re.compile(r"<programlisting[^>]*>(.*?)</programlisting>", re.DOTALL)
_EXAMPLE = re.compile(r"<literal>([^<]*)</literal>\s*<returnvalue>", re.DOTALL)
_RETURNVALUE = re.compile(r"<returnvalue>.*?</returnvalue>", re.DOTALL)
_SIGNATURE_BEFORE = re.compile(r"</(replaceable|type)>\s*\Z")
_TAG = re.compile(r"<[^>]+>")
_PROMPT = re.compile(r"^\s*[\w.]*=[>#]\s?")
_CONTINUATION = re.compile(r"^\s*[\w.]*[-'\"(*$][>#]\s?")
_RULE = re.compile(r"^\s*-{3,}(\+-+)*\s*$")
_ROWS = re.compile(r"^\s*\(\d+ rows?\)\s*$")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sgml", type=Path, help="doc/src/sgml of a PostgreSQL source tree")
    ap.add_argument("--out", type=Path, default=Path("/tmp/corpus-docs"))
    ap.add_argument("--files", default="", help="chapters to take (default: CHAPTERS + ref/*)")
    ap.add_argument("--contrib", action="store_true", help="the contrib modules' chapters (CONTRIB)")
    args = ap.parse_args()
    names = [n for n in args.files.split(",") if n] or (list(CONTRIB) if args.contrib else CHAPTERS)
    sources = [args.sgml / f"{n}.sgml" for n in dict.fromkeys(names)]
    sources = [p for p in sources if p.exists()]
    if not args.files and not args.contrib:
        sources += sorted((args.sgml / "ref").glob("*.sgml"))
    args.out.mkdir(parents=True, exist_ok=True)
    total, written = 0, []
    for path in sources:
        statements = extract(path.read_text(encoding="utf-8"))
        if not statements:
            continue
        if args.contrib and path.stem in CONTRIB:
            statements.insert(0, f"CREATE EXTENSION IF NOT EXISTS {CONTRIB[path.stem]} CASCADE;")
        stem = path.stem if path.parent == args.sgml else f"{path.parent.name}_{path.stem}"
        (args.out / f"{stem}.sql").write_text("\n\n".join(statements) + "\n", encoding="utf-8")
        total += len(statements)
        written.append(stem)
    # the manual's order (the tutorial's tables first), for regress_replay.py --schedule
    (args.out / "schedule").write_text("".join(f"test: {n}\n" for n in written), encoding="utf-8")
    print(f"{total} statements from {len(sources)} files into {args.out}")


def extract(sgml: str) -> list[str]:
    """The SQL statements of one SGML file, in the order they appear."""
    found: list[tuple[int, list[str]]] = []
    for m in _BLOCK.finditer(sgml):
        found.append((m.start(), block_statements(m.group(1))))
    for m in _EXAMPLE.finditer(sgml):
        if not _inside_block(sgml, m.start()) and not _is_signature(sgml, m.start()):
            found.append((m.start(), example_statements(m.group(1))))
    found.sort(key=lambda f: f[0])
    return [s for _, statements in found for s in statements]


def block_statements(raw: str) -> list[str]:
    """The statements of one programlisting block (none if it is not SQL)."""
    if "<replaceable" in raw:
        return []
    if "<returnvalue>" in raw:  # `expr <returnvalue>result</returnvalue>` lines
        return [s for part in _RETURNVALUE.split(raw)[:-1] for s in example_statements(part)]
    text = html.unescape(_TAG.sub("", raw))
    text = _without_output(_from_prompts(text))
    return _statements(text)


def example_statements(raw: str) -> list[str]:
    """A function example: the expression as a SELECT (or the statement it already is)."""
    text = html.unescape(_TAG.sub("", raw)).strip()
    if not text:
        return []
    if text.split(None, 1)[0].lower() not in COMMANDS:
        text = f"SELECT {text}"
    return _statements(text if text.endswith(";") else text + ";")


def _from_prompts(text: str) -> str:
    """A psql session keeps the lines typed after a prompt; other text is output."""
    lines = text.split("\n")
    if not any(_PROMPT.match(line) for line in lines):
        return text
    kept, typing = [], False
    for line in lines:
        if _PROMPT.match(line):
            kept.append(_PROMPT.sub("", line, count=1))
            typing = not line.rstrip().endswith(";")
        elif typing and _CONTINUATION.match(line):
            kept.append(_CONTINUATION.sub("", line, count=1))
            typing = not line.rstrip().endswith(";")
    return "\n".join(kept)


def _without_output(text: str) -> str:
    """Drop result tables: the header line, the rule, the rows up to a blank or `(n rows)`."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if (_RULE.match(lines[i]) and out and not _RULE.match(out[-1]) and "--" not in out[-1]
                and not out[-1].rstrip().endswith(";")):
            out.pop()  # the column header
            i += 1
            while i < len(lines) and lines[i].strip() and not _ROWS.match(lines[i]):
                i += 1
            if i < len(lines) and _ROWS.match(lines[i]):
                i += 1
            continue
        if _ROWS.match(lines[i]):
            i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _statements(text: str) -> list[str]:
    text = text.strip()
    if not text or text.split(None, 1)[0].lower().rstrip(";") not in COMMANDS:
        return []
    if not text.rstrip().endswith(";"):
        text += ";"
    out = []
    for item in read_script(text + "\n"):
        if isinstance(item, Meta) or item.copy_data is not None:
            continue
        sql = item.sql.strip()
        if _is_usable(sql):
            out.append(sql if sql.endswith(";") else sql + ";")
    return out


def _is_usable(sql: str) -> bool:
    first = sql.split(None, 1)[0].lower() if sql.split() else ""
    return (first in COMMANDS and "..." not in sql and "…" not in sql
            and not SERVER_WIDE.match(sql) and not SERVER_FUNCTIONS.search(sql))


def _is_signature(sgml: str, pos: int) -> bool:
    """`<replaceable>x</replaceable> <literal>IS NULL</literal> <returnvalue>boolean...`"""
    para = sgml[sgml.rfind("<para", 0, pos):pos]
    return "func_signature" in para.split(">", 1)[0] or bool(_SIGNATURE_BEFORE.search(sgml[max(0, pos - 200):pos]))


def _inside_block(sgml: str, pos: int) -> bool:
    start = sgml.rfind("<programlisting", 0, pos)
    return start >= 0 and sgml.rfind("</programlisting>", start, pos) < 0


if __name__ == "__main__":
    main()
