"""What server-side code touches: the tables and routines a statement's user code reaches. Pure.

gridpg plans the statements a client sends; the statements inside functions, procedures,
DO blocks and triggers are planned by the one PostgreSQL server that runs them (the
catalog server, which holds distributed tables empty, or a datanode, which holds its own
shards). Such code over distributed tables would give a wrong answer without an error, so
the executor refuses it before it runs. This module reads bodies; the executor's
`executor/routines.py` looks routines up in pg_proc (I/O) and walks the calls.

`statement_access` reads a client statement (calls, relations, DO bodies);
`routine_access` reads one routine's body (SQL: the string or `BEGIN ATOMIC` body;
PL/pgSQL: every embedded statement and expression through PostgreSQL's PL/pgSQL parser);
`first_distributed` says which distributed table an access reaches, if any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from gridpg.catalog.model import DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, lazy_initplans, sizes
from gridpg.planner.calls import SEQUENCE_FUNCTIONS
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql, plpgsql_upsert

# Statements that read or write rows (what the loopback's shadows carry); others (ALTER,
# LOCK, COMMENT, GRANT, ...) on a shadow would act on the shadow itself.
_ROW_STATEMENTS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                             "TruncateStmt", "CallStmt", "DoStmt", "DeclareCursorStmt", "ExplainStmt",
                             "ReturnStmt"})  # (a SQL-standard body's RETURN expr)
# Statements that change the schema: code running them is stopped at the statement and run
# again with its DDL captured and replayed as distributed DDL (executor/code_ddl.py), so
# they do not keep code from the loopback.
_SCHEMA_STATEMENTS = frozenset({
    "CreateStmt", "CreateTableAsStmt", "AlterTableStmt", "IndexStmt", "DropStmt", "RenameStmt",
    "CommentStmt", "GrantStmt", "ViewStmt", "CreateTrigStmt", "RuleStmt", "CreatePolicyStmt",
    "AlterPolicyStmt", "CreateStatsStmt", "AlterObjectSchemaStmt", "AlterOwnerStmt", "CreateSeqStmt",
    "AlterSeqStmt", "ReindexStmt",
})
# Languages whose routines run no SQL gridpg could not see (C, internal: the server's own).
OPAQUE_SAFE = frozenset({"c", "internal"})
# ... but for these, which run a query given to them as text (PostgreSQL's XML and text
# search functions, contrib's tablefunc): a call is dynamic SQL, whose tables gridpg
# cannot see in the call (crosstab('SELECT ... FROM t') read the catalog server's empty t)
SQL_TEXT_FUNCTIONS = frozenset({
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "table_to_xml",
    "table_to_xmlschema", "table_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
    "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema", "database_to_xml",
    "database_to_xmlschema", "database_to_xml_and_xmlschema", "ts_stat", "ts_rewrite",
    "crosstab", "crosstab2", "crosstab3", "crosstab4", "crosstab_hash", "connectby",
})
_STORAGE = ("reads or changes the pages of the relation it names on the one server running it "
            "(for a distributed table, the catalog server's empty copy; EXECUTE DIRECT runs it on a "
            "datanode, over the table's shards there)")
# C functions of contrib modules that act on the state of the one server running them, which
# for a trigger on a distributed table is a datanode: wrong there without an error
SERVER_STATE_C_FUNCTIONS = {
    # spi/autoinc: nextval() of the sequence its trigger arguments name, called in C, on
    # the server's own copy (the GTM's sequence is the cluster's): each node numbered rows
    # from 1
    "autoinc": "draws from the server's own copy of a sequence, not the cluster's",
    # spi/refint: queries by SPI over the tables its arguments name (one node's shards)
    "check_primary_key": "reads the tables its arguments name on the one server running it",
    "check_foreign_key": "reads and writes the tables its arguments name on the one server running it",
    # lo: lo_unlink() of the large object a row leaves, on the server running the trigger
    # (a datanode), where no large object is: they live on the catalog server
    "lo_manage": "unlinks large objects on the datanode it runs on, while they live on the catalog server",
    # tcn: its NOTIFY payload names the relation the trigger fires on, a shard on a datanode
    # ("public.t_24" where PostgreSQL says "t")
    "triggered_change_notification": "names the datanode's shard, not the table, in its notification",
    **{symbol: _STORAGE for symbol in (
        # pgstattuple, pgrowlocks, pg_visibility, amcheck, pageinspect, pg_prewarm,
        # pg_surgery and pg_freespacemap read (or change) the pages of the relation they
        # are given on the server running them: for a distributed table (or its index) the
        # catalog server's empty copy, which pgstattuple('t') reported as 0 tuples,
        # pg_visibility_map('t') as no pages, bt_index_check() as sound, without an error
        # (h-contrib26)
        "pgstattuple", "pgstattuple_v1_5", "pgstattuplebyid", "pgstattuplebyid_v1_5",
        "pgstattuple_approx", "pgstattuple_approx_v1_5", "pgstatindex", "pgstatindex_v1_5",
        "pgstatindexbyid", "pgstatindexbyid_v1_5", "pgstatginindex", "pgstatginindex_v1_5",
        "pgstathashindex", "pg_relpages", "pg_relpages_v1_5", "pg_relpagesbyid", "pg_relpagesbyid_v1_5",
        "pgrowlocks", "pg_visibility", "pg_visibility_rel", "pg_visibility_map", "pg_visibility_map_rel",
        "pg_visibility_map_summary", "pg_check_frozen", "pg_check_visible", "pg_truncate_visibility_map",
        "bt_index_check", "bt_index_parent_check", "gin_index_check", "verify_heapam",
        "get_raw_page", "get_raw_page_fork", "get_raw_page_1_9", "get_raw_page_fork_1_9",
        "bt_metap", "bt_page_stats", "bt_page_stats_1_9", "bt_page_items", "bt_page_items_1_9",
        "bt_multi_page_stats", "hash_bitmap_info", "pg_prewarm", "heap_force_kill", "heap_force_freeze",
        "pg_freespace")},
}
# C functions of contrib modules that change a setting of the session on the one server
# running them, by C symbol -> the setting: the session takes the new value over on every
# node, as after PL/pgSQL code calling set_config() (frontend/session_commands.py
# adopt_code_settings). pg_trgm's `SELECT set_limit(0.2)` ran on the catalog server alone,
# and `t % 'word'` on the datanodes went on with the old threshold: other rows, no error.
# isn's isn_weak(true) (C accept_weak_input) lets ISBNs with a wrong check digit in: the
# datanodes parsing an INSERT's values still refused them.
SETTING_C_FUNCTIONS = {"set_limit": "pg_trgm.similarity_threshold", "accept_weak_input": "isn.weak"}
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema"})

Resolver = Callable[[analyze.RelRef, tuple[str, ...]], DistTable | None]
# A view over distributed tables a reference names under a search path: (schema, name).
ViewResolver = Callable[[analyze.RelRef, tuple[str, ...]], tuple[str, str] | None]


@dataclass(frozen=True)
class Routine:
    """One row of pg_proc as the guard needs it."""

    oid: int
    schema: str
    name: str
    signature: str  # identity arguments, for messages
    language: str
    kind: str  # f function, p procedure, a aggregate, w window
    definition: str  # pg_get_functiondef, '' for aggregates and C functions
    search_path: tuple[str, ...] | None = None  # from SET search_path on the routine
    support: tuple[int, ...] = ()  # an aggregate's transition/final/combine functions
    security_definer: bool = False
    owner: str = ""
    symbol: str = ""  # the C (or internal) function C and internal code runs: pg_proc.prosrc

    @property
    def title(self) -> str:
        what = "procedure" if self.kind == "p" else "function"
        return f"{what} {self.schema}.{self.name}({self.signature})"


@dataclass(frozen=True)
class Access:
    """What a body (or a statement) may touch."""

    relations: tuple[analyze.RelRef, ...] = ()
    calls: frozenset[tuple[str | None, str]] = frozenset()
    dynamic: str | None = None  # the first dynamic SQL text expression, when any
    unreadable: str | None = None  # why the body cannot be read (e.g. its language)
    nested: tuple[Access, ...] = field(default=())  # DO blocks inside
    operators: frozenset[str] = frozenset()  # operator symbols used (user ones run functions)
    writes: frozenset[str] = frozenset()  # names of the relations written (lowercase)
    atomic: bool = False  # a SQL routine's BEGIN ATOMIC body (its names bound at creation)
    utility: tuple[tuple[str, analyze.RelRef], ...] = ()  # (statement kind, relation) of DDL, LOCK...
    # targets of INSERT ... ON CONFLICT the loopback cannot send (sql/plpgsql_upsert.py)
    upserts: tuple[analyze.RelRef, ...] = ()
    # Per statement naming relations: (those relations, the routines called inside its
    # sub-selects). Over a shadow, postgres_fdw evaluates an uncorrelated sub-select as a
    # parameter of the remote query, under its own search_path = pg_catalog
    # (`set_transmission_modes`): code called there resolves its names against pg_catalog
    # alone, not the armed path (executor/routines.py refuses it).
    sublinks: tuple[tuple[tuple[analyze.RelRef, ...], frozenset[tuple[str | None, str]]], ...] = ()
    # Names used as `x.name` or `(x).name`: calls of `name(x)` when a routine of that name
    # takes one row argument (PostgreSQL's attribute notation), else columns
    attribute_calls: frozenset[tuple[str | None, str]] = frozenset()
    # The settings the body changes for the session (SET / RESET, set_config()): (name,
    # is_local), each None where the text does not say (an expression)
    settings: tuple[tuple[str | None, bool | None], ...] = ()

    def all_sublinks(self) -> Iterator[tuple[tuple[analyze.RelRef, ...], frozenset[tuple[str | None, str]]]]:
        yield from self.sublinks
        for inner in self.nested:
            yield from inner.all_sublinks()

    def all_relations(self) -> Iterator[analyze.RelRef]:
        yield from self.relations
        for inner in self.nested:
            yield from inner.all_relations()

    def all_calls(self) -> set[tuple[str | None, str]]:
        out = set(self.calls)
        for inner in self.nested:
            out |= inner.all_calls()
        return out

    def all_attribute_calls(self) -> set[tuple[str | None, str]]:
        out = set(self.attribute_calls)
        for inner in self.nested:
            out |= inner.all_attribute_calls()
        return out

    def all_settings(self) -> set[tuple[str | None, bool | None]]:
        out = set(self.settings)
        for inner in self.nested:
            out |= inner.all_settings()
        return out

    def all_writes(self) -> set[str]:
        out = set(self.writes)
        for inner in self.nested:
            out |= inner.all_writes()
        return out

    def all_operators(self) -> set[str]:
        out = set(self.operators)
        for inner in self.nested:
            out |= inner.all_operators()
        return out

    def sequence_call(self) -> str | None:
        """The first sequence function (nextval, setval, currval, lastval) the body calls,
        unqualified or as pg_catalog's, as `nextval()`, when it calls one: its sequences
        are cluster-wide (the GTM's), a server running the body holds only a copy."""
        found = sorted(name.lower() for schema, name in self.all_calls()
                       if name.lower() in SEQUENCE_FUNCTIONS and schema in (None, "pg_catalog"))
        return f"{found[0]}()" if found else None

    def qualified_sequence_call(self) -> str | None:
        """A call of pg_catalog.nextval() (or setval, currval, lastval) written with its
        schema: the loopback's path cannot send it to the GTM."""
        found = sorted(f"{schema}.{name.lower()}()" for schema, name in self.all_calls()
                       if name.lower() in SEQUENCE_FUNCTIONS and schema == "pg_catalog")
        return found[0] if found else None

    def unreadable_reason(self) -> str | None:
        """Why a body cannot be read at all (its language, a parse failure)."""
        return next((a.unreadable for a in (self, *self.nested) if a.unreadable), None)

    def has_dynamic(self) -> bool:
        """Whether the body (or a DO block in it) runs SQL text built at run time."""
        return any(a.dynamic for a in (self, *self.nested))

    def blocker(self) -> str | None:
        for access in (self, *self.nested):
            if access.unreadable:
                return access.unreadable
            if access.dynamic:
                return f"it runs dynamic SQL ({_short(access.dynamic)}) that gridpg cannot check"
        return None


def statement_access(tree: dict[str, Any]) -> Access:
    """Calls, relations and DO bodies of one client statement (its own EXPLAIN is
    executor/multi.explain's: only code's is unreadable here)."""
    return replace(_tree_access([tree]), unreadable=None)


@dataclass(frozen=True)
class Body:
    """A routine's statements as parse trees, and what keeps it from being read whole."""

    trees: tuple[dict[str, Any], ...] = ()
    dynamic: str | None = None
    unreadable: str | None = None
    atomic: bool = False


def routine_body(routine: Routine) -> Body:
    """The statements one routine runs (empty for C/internal code and aggregates, whose
    support functions are followed instead)."""
    language = routine.language.lower()
    if language in OPAQUE_SAFE:
        # by its C function too: `CREATE FUNCTION my_pivot(text) ... AS '$libdir/tablefunc',
        # 'crosstab' LANGUAGE C` runs crosstab under another name (it read the catalog
        # server's empty tables)
        symbol = routine.symbol.lower()
        if routine.name in SQL_TEXT_FUNCTIONS or symbol in SQL_TEXT_FUNCTIONS:
            return Body(dynamic=f"{routine.name}(...)")
        if symbol in SERVER_STATE_C_FUNCTIONS:
            return Body(unreadable=f"it runs the C function {symbol}, which {SERVER_STATE_C_FUNCTIONS[symbol]}")
    if routine.kind == "a" or language in OPAQUE_SAFE:
        return Body()
    if language == "sql":
        return _sql_function_body(routine.definition)
    if language == "plpgsql":
        return _plpgsql_body(routine.definition)
    return Body(unreadable=f"it is written in language {routine.language}, which gridpg cannot read")


def routine_access(routine: Routine) -> Access:
    """What one routine's body touches."""
    body = routine_body(routine)
    access = _tree_access(list(body.trees))
    setting = SETTING_C_FUNCTIONS.get(routine.symbol.lower()) if routine.language.lower() in OPAQUE_SAFE else None
    if setting is not None:
        access = replace(access, settings=((setting, False),))
    unreadable = body.unreadable
    size_call = _size_call(routine.definition)
    if size_call is not None and not unreadable:
        # refused at CREATE since the size functions answer the cluster's sizes; a routine
        # created before would measure the catalog server's empty copies when it runs
        unreadable = (f"it calls {size_call}(), which would measure the catalog server's empty copies "
                      "of distributed tables")
    return replace(access, dynamic=body.dynamic or access.dynamic, unreadable=unreadable or access.unreadable,
                   atomic=body.atomic)


def _size_call(definition: str) -> str | None:
    """The size function a routine's body calls (its CREATE text from pg_get_functiondef)."""
    if not definition or not sizes.mentions(definition):
        return None
    try:
        return sizes.stored_call(definition)
    except PgError:
        return None


def do_access(body: str, language: str | None) -> Access:
    """What a DO block's body touches."""
    if (language or "plpgsql").lower() != "plpgsql":
        return Access(unreadable=f"it is written in language {language}, which gridpg cannot read")
    parsed = _plpgsql_body(plpgsql.do_block_function(body), compiles=True)
    access = _tree_access(list(parsed.trees))
    return replace(access, dynamic=parsed.dynamic or access.dynamic, unreadable=parsed.unreadable or access.unreadable)


def first_distributed(access: Access, path: tuple[str, ...],
                      resolve: Resolver) -> DistTable | None:
    """The first distributed (or replicated) table the access reaches, by this search path."""
    for ref in access.all_relations():
        if ref.schema in SYSTEM_SCHEMAS:
            continue
        table = resolve(ref, path)
        if table is not None:
            return table
    return None


def loopback_blocker(routine: Routine | None, access: Access, path: tuple[str, ...],
                     resolve: Resolver, views: ViewResolver,
                     shadows: set[tuple[str, str]],
                     qualified: set[tuple[str, str]] | None = None) -> str | None:
    """Why code cannot reach the distributed tables (and views over them) it names through
    the loopback's shadows (None: it can; what it reaches is added to `shadows`). The
    shadows are found by the search path: names must be unqualified and resolved with
    `path` (the one the code runs with: the session's, or a routine's own SET search_path,
    also inherited by what it calls), in a body PostgreSQL reads when it runs, which does
    not change it. With `qualified`, names with their schema are collected there (the
    routine then runs as a twin naming the shadows) instead of refused."""
    for ref in access.all_relations():
        if ref.schema in SYSTEM_SCHEMAS:
            continue
        own_path = path  # the caller gives the path the code runs with (its own SET, inherited)
        table = resolve(ref, own_path)
        target = (table.schema, table.name) if table is not None else views(ref, own_path)
        if target is None:
            continue
        label = f"{'distributed table' if table is not None else 'view'} {target[0]}.{target[1]}"
        # (its own SET search_path is the executor's: a twin with the shadows on that path;
        # SECURITY DEFINER too: the loopback runs as the owner)
        if routine is not None and mentions_search_path(body_text(routine.definition)):
            return f"it may change search_path and reads or writes {label}"
        if routine is not None and reads_current_schema(body_text(routine.definition)):
            # armed, the loopback's shadow schemas come first on its path: current_schema()
            # answered their name
            return f"it reads current_schema() and reads or writes {label}"
        if access.atomic:
            if qualified is None:
                return f"its BEGIN ATOMIC body is bound to the catalog server's empty copy of {label}"
            # (bound at creation to the catalog server's copy whatever the path: it runs as a
            # twin whose body PostgreSQL reads when it runs, naming the shadows, executor/twins.py)
            qualified.add(target)
            shadows.add(target)
            continue
        if ref.schema is not None:
            if qualified is None:
                return (f"it names {label} with its schema (gridpg reaches distributed tables "
                        "from server-side code by unqualified names)")
            qualified.add(target)  # its twin names the shadow (executor/twins.py)
        shadows.add(target)
    for inner in (access, *access.nested):
        for kind, ref in inner.utility:
            if kind in _SCHEMA_STATEMENTS:
                continue
            if ref.schema not in SYSTEM_SCHEMAS and (resolve(ref, path) or views(ref, path)):
                return f"it runs {kind.removesuffix('Stmt')} on {ref.name}, which would reach only the catalog server's copy"
    return None


def body_text(definition: str) -> str:
    """A routine's body from its pg_get_functiondef text, without the header (its name, its
    own ` SET name TO value` settings): what its code may do, not how it is declared."""
    lines = definition.split("\n")
    head = next((i for i, line in enumerate(lines) if line.startswith(("AS ", "BEGIN ATOMIC"))), 0)
    return "\n".join(lines[head:])


def mentions_search_path(text: str, depth: int = 0) -> bool:
    """Whether code may change search_path: the word as a name (`SET search_path`) or in a
    string (`set_config('search_path', ...)`, dynamic SQL), read with PostgreSQL's scanner
    down into dollar-quoted bodies; not a longer or quoted name that contains it (a schema
    called `t_search_path_x`). Text the scanner cannot read: by its characters."""
    try:
        tokens = sqlparse.tokens(text)
    except PgError:
        return "search_path" in text.lower()
    for token in tokens:
        piece = text[token.start:token.end + 1]
        if token.name == "IDENT" and piece.lower() == "search_path":
            return True
        if token.name == "SCONST":
            if piece.startswith("$") and depth < 4:
                inner = piece[piece.index("$", 1) + 1:piece.rindex("$", 0, len(piece) - 1)]
                if mentions_search_path(inner, depth + 1):
                    return True
            elif "search_path" in piece.lower():
                return True
    return False


def reads_current_schema(text: str, depth: int = 0) -> bool:
    """Whether code calls current_schema() or current_schemas(), or names either in a
    string (dynamic SQL), read with PostgreSQL's scanner down into dollar-quoted bodies."""
    try:
        tokens = sqlparse.tokens(text)
    except PgError:
        return "current_schema" in text.lower()
    for token in tokens:
        piece = text[token.start:token.end + 1]
        if token.name == "CURRENT_SCHEMA" or (token.name == "IDENT" and piece.lower() == "current_schemas"):
            return True
        if token.name == "SCONST":
            if piece.startswith("$") and depth < 4:
                inner = piece[piece.index("$", 1) + 1:piece.rindex("$", 0, len(piece) - 1)]
                if reads_current_schema(inner, depth + 1):
                    return True
            elif "current_schema" in piece.lower():
                return True
    return False


def user_calls(access: Access, known: frozenset[str],
               row_argument: frozenset[str] = frozenset()) -> set[tuple[str | None, str]]:
    """The calls that may reach user routines (their names are among `known`; names used in
    attribute notation, among `row_argument`: routines of one row-typed argument)."""
    out = {(s, n) for s, n in access.all_calls() if n.lower() in known and s not in SYSTEM_SCHEMAS}
    return out | {(s, n) for s, n in access.all_attribute_calls() if n.lower() in row_argument}


def qualified_relations(create_sql: str, language: str = "plpgsql") -> set[tuple[str, str]]:
    """The (schema, name) of every relation a PL/pgSQL (or SQL) routine's CREATE text, or a
    DO statement (`language` "do"), names with its schema. A text that cannot be read
    raises 0A000: the caller checks a body it rewrote, which must read as the original."""
    if language == "do":
        args = sqlparse.do_arguments(sqlparse.parse_tree(create_sql)["DoStmt"])
        access = do_access(args.get("as", ""), args.get("language"))
        unreadable = access.unreadable
    else:
        parsed = _plpgsql_body(create_sql) if language == "plpgsql" else _sql_function_body(create_sql)
        access = _tree_access(list(parsed.trees))
        unreadable = parsed.unreadable
    if unreadable:
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot read the code it rewrote: {unreadable}")
    return {(ref.schema, ref.name) for ref in access.all_relations() if ref.schema is not None}


# -- bodies --------------------------------------------------------------------------


def _plpgsql_body(create_sql: str, compiles: bool = False) -> Body:
    """The body's statements. `compiles`: the body is compiled when the statement runs (a
    DO block), so an error of PL/pgSQL's grammar is PostgreSQL's answer, raised as such."""
    try:
        pieces = plpgsql.embedded_sql(create_sql)
    except PgError as exc:
        if compiles and isinstance(exc, plpgsql.CompileError):
            raise
        return Body(unreadable=f"its body cannot be read ({exc.message})")
    trees = []
    dynamic = None
    for piece in pieces:
        if piece.dynamic:
            dynamic = dynamic or piece.sql  # what the text expression itself calls is kept
        trees.extend(_parse_all(piece.sql))
    return Body(tuple(trees), dynamic)


def _sql_function_body(create_sql: str) -> Body:
    trees = _parse_all(create_sql)
    if not trees or "CreateFunctionStmt" not in trees[0]:
        return Body(unreadable="its definition cannot be read")
    body = trees[0]["CreateFunctionStmt"]
    sql_body = body.get("sql_body")
    if sql_body is not None:  # BEGIN ATOMIC: a list of statement lists
        return Body(tuple(_statements_of(sql_body)), atomic=True)
    for option in body.get("options", []):
        elem = option.get("DefElem", {})
        if elem.get("defname") == "as":
            texts = [item.get("String", {}).get("sval", "") for item in elem["arg"].get("List", {}).get("items", [])]
            return Body(tuple(t for text in texts for t in _parse_all(text)))
    return Body()


def _statements_of(node: Any) -> list[dict[str, Any]]:
    """The statement nodes of a BEGIN ATOMIC body (nested List wrappers removed)."""
    if isinstance(node, dict) and "List" in node:
        return [s for item in node["List"].get("items", []) for s in _statements_of(item)]
    if isinstance(node, list):
        return [s for item in node for s in _statements_of(item)]
    return [node] if isinstance(node, dict) and node else []


def _parse_all(sql: str) -> list[dict[str, Any]]:
    """Every statement of `sql` as a tree; a statement that does not parse is skipped (the
    server refuses it too when it runs)."""
    out = []
    for text in sqlparse.split(sql):
        try:
            tree = sqlparse.parse_tree(text)
        except PgError:
            continue
        if tree:
            out.append(tree)
    return out


def _tree_access(trees: list[dict[str, Any]]) -> Access:
    relations: list[analyze.RelRef] = []
    calls: set[tuple[str | None, str]] = set()
    nested: list[Access] = []
    operators: set[str] = set()
    writes: set[str] = set()
    utility: list[tuple[str, analyze.RelRef]] = []
    upserts: list[analyze.RelRef] = []
    sublinks: list[tuple[tuple[analyze.RelRef, ...], frozenset[tuple[str | None, str]]]] = []
    attribute_calls: set[tuple[str | None, str]] = set()
    settings: list[tuple[str | None, bool | None]] = []
    for tree in trees:
        if next(iter(tree), "") not in _SCHEMA_STATEMENTS or _is_temp_table_as(tree):  # (DDL runs as distributed DDL)
            relations.extend(analyze.relations(tree))
            sublink = _sublink_calls(tree)
            if sublink[0] and sublink[1]:
                sublinks.append(sublink)
        target = plpgsql_upsert.upsert_target(tree)
        if target is not None:
            upserts.append(analyze.RelRef(target.get("schemaname"), str(target.get("relname", "")),
                                          int(target.get("location", -1)), None))
        writes |= written_names(tree)
        kind = next(iter(tree), "")
        if kind not in _ROW_STATEMENTS:
            utility.extend((kind, ref) for ref in analyze.relations(tree))
        for node in analyze._walk(tree):
            if not isinstance(node, dict):
                continue
            call = node.get("FuncCall")
            if isinstance(call, dict):
                calls.add(_qualified(call.get("funcname", [])))
                if _qualified(call.get("funcname", []))[1].lower() == "set_config":
                    settings.append(_set_config_setting(call))
            change = node.get("VariableSetStmt")
            if isinstance(change, dict) and change.get("name") != "transaction_isolation":
                settings.append((change.get("name"), bool(change.get("is_local"))))
            attribute_calls.update(_attribute_notation_names(node))
            procedure = node.get("CallStmt")
            if isinstance(procedure, dict):  # its funccall is a bare FuncCall body
                calls.add(_qualified(procedure.get("funccall", {}).get("funcname", [])))
            expr = node.get("A_Expr")
            if isinstance(expr, dict) and expr.get("kind", "").startswith("AEXPR_OP"):
                operators.add(_qualified(expr.get("name", []))[1])
            do = node.get("DoStmt")
            if isinstance(do, dict):
                nested.append(_do_stmt_access(do))
    dynamic = next((f"{name}(...)" for schema, name in sorted(calls, key=str)
                    if name in SQL_TEXT_FUNCTIONS and schema in (None, "pg_catalog")), None)
    unreadable = next((_EXPLAIN_CREATES for tree in trees if _explain_analyze_creates(tree)), None) \
        or next((_global_change(kind) for kind in map(_global_kind, trees) if kind), None)
    return Access(tuple(relations), frozenset(calls), dynamic, nested=tuple(nested),
                  operators=frozenset(operators), writes=frozenset(writes), utility=tuple(utility),
                  upserts=tuple(upserts), sublinks=tuple(sublinks),
                  attribute_calls=frozenset(attribute_calls), settings=tuple(settings), unreadable=unreadable)


_EXPLAIN_CREATES = ("it runs EXPLAIN ANALYZE of CREATE TABLE AS / SELECT INTO, which creates the table on the "
                    "catalog server alone (no DDL event fires for it there)")


# Statements on the cluster's roles and databases: no DDL event fires for them, so run by
# code on a catalog server they change that server alone (`DO $$ BEGIN ALTER ROLE r
# NOLOGIN; END $$` left r logging in through the other coordinators, silently)
_GLOBAL_STATEMENTS = {
    "CreateRoleStmt": "CREATE ROLE", "AlterRoleStmt": "ALTER ROLE", "AlterRoleSetStmt": "ALTER ROLE",
    "DropRoleStmt": "DROP ROLE", "GrantRoleStmt": "GRANT or REVOKE of a role",
    "AlterDatabaseStmt": "ALTER DATABASE", "AlterDatabaseSetStmt": "ALTER DATABASE",
    "AlterDatabaseRefreshCollStmt": "ALTER DATABASE", "ReassignOwnedStmt": "REASSIGN OWNED",
}
_GLOBAL_OBJECTS = {"OBJECT_ROLE": "ROLE", "OBJECT_DATABASE": "DATABASE", "OBJECT_TABLESPACE": "TABLESPACE"}


def _global_kind(tree: dict[str, Any]) -> str | None:
    """What a statement changes of the cluster's roles or databases, if it does."""
    kind = next(iter(tree), "")
    if kind in _GLOBAL_STATEMENTS:
        return _GLOBAL_STATEMENTS[kind]
    body = tree.get(kind)
    if kind == "RenameStmt" and isinstance(body, dict) and body.get("renameType") in _GLOBAL_OBJECTS:
        return f"ALTER {_GLOBAL_OBJECTS[body['renameType']]} ... RENAME"
    if kind == "AlterOwnerStmt" and isinstance(body, dict) and body.get("objectType") in _GLOBAL_OBJECTS:
        return f"ALTER {_GLOBAL_OBJECTS[body['objectType']]} ... OWNER"
    return None


def _global_change(what: str) -> str:
    return (f"it runs {what}, which would change the catalog server alone (no DDL event fires for it "
            "there); run it as a statement of its own")


def _explain_analyze_creates(tree: dict[str, Any]) -> bool:
    """`EXPLAIN ANALYZE CREATE TABLE ... AS` / `EXPLAIN ANALYZE SELECT ... INTO t` (not
    temporary): run by code on the catalog server, PostgreSQL creates the relation without
    the DDL events gridpg's capture of code DDL listens to (executor/code_ddl.py), so the
    table stayed there alone, silently. The client's own statement is refused in
    executor/multi.explain."""
    explain = tree.get("ExplainStmt")
    if not isinstance(explain, dict):
        return False
    if not any(o.get("DefElem", {}).get("defname") == "analyze" for o in explain.get("options") or []):
        return False
    query = explain.get("query") or {}
    ctas = query.get("CreateTableAsStmt")
    if isinstance(ctas, dict):
        return ((ctas.get("into") or {}).get("rel") or {}).get("relpersistence") != "t"
    into = next((n["intoClause"] for n in analyze._walk(query) if isinstance(n, dict) and n.get("intoClause")), None)
    return into is not None and (into.get("rel") or {}).get("relpersistence") != "t"


def _set_config_setting(call: dict[str, Any]) -> tuple[str | None, bool | None]:
    """(name, is_local) of a set_config() call, each None unless written as a constant."""
    args = [sqlparse.argument(a) for a in call.get("args", [])]
    if len(args) != 3:
        return None, None
    name = args[0][1] if args[0][0] == "const" else None
    local = args[2][1] if args[2][0] == "const" else None
    return name, None if local is None else str(local).lower() in ("true", "t", "on", "yes", "1")


def _attribute_notation_names(node: dict[str, Any]) -> Iterator[tuple[str | None, str]]:
    """The names a node may call a function by in attribute notation: `p.f` and `(p).f`
    are `f(p)` when p's row type has no column f (PostgreSQL's functional notation; misc.sql's
    `name(p.hobbies)`). Unseen, such a call of code reading distributed tables ran on each
    datanode over its own shards: a wrong answer, silently. Conservative: every such name
    counts (a column named like a user routine only sends the statement through the check)."""
    ref = node.get("ColumnRef")
    if isinstance(ref, dict):
        fields = ref.get("fields") or []
        if len(fields) >= 2 and isinstance(fields[-1], dict) and "String" in fields[-1]:
            yield None, str(fields[-1]["String"].get("sval", ""))
    indirection = node.get("A_Indirection")
    if isinstance(indirection, dict):
        for item in indirection.get("indirection") or []:
            if isinstance(item, dict) and "String" in item:
                yield None, str(item["String"].get("sval", ""))


def _is_temp_table_as(tree: dict[str, Any]) -> bool:
    """`CREATE TEMP TABLE t AS SELECT ...` (or `SELECT ... INTO TEMP t` in SQL code): the one
    DDL that code runs in place, on the catalog server, also armed (code_ddl.py lets CREATE
    TEMP through), so the tables its query reads must reach their shadows like any SELECT's
    (not seen, it filled the temp table from the catalog server's empty copies, silently)."""
    body = tree.get("CreateTableAsStmt")
    if not isinstance(body, dict) or body.get("objtype") != "OBJECT_TABLE":
        return False
    return ((body.get("into") or {}).get("rel") or {}).get("relpersistence") == "t"


def _sublink_calls(tree: dict[str, Any]) -> tuple[tuple[analyze.RelRef, ...], frozenset[tuple[str | None, str]]]:
    """(the relations a statement names, the functions called inside its sub-selects where
    postgres_fdw may send their value with the remote statement: WHERE, JOIN ... ON,
    HAVING, ORDER BY, LIMIT, an UPDATE's SET; not a SELECT's output columns or an INSERT's
    VALUES, which PostgreSQL computes itself before anything is sent, nor a sub-select
    correlated with the statement by a name qualified with an outer relation (`EXISTS
    (SELECT 1 FROM f() o WHERE o.id = a.id)`): its value depends on each row, so it is
    computed where the rows are, never sent as a parameter; nor `IN (SELECT ...)`)."""
    calls: set[tuple[str | None, str]] = set()
    _shipped_calls(tree, True, calls, frozenset())
    return tuple(analyze.relations(tree)), frozenset(calls)


def _shipped_calls(node: Any, shipped: bool, calls: set[tuple[str | None, str]], outer: frozenset[str]) -> None:
    """`outer`: the (lower-case) relation names and aliases of the enclosing queries."""
    if isinstance(node, list):
        for item in node:
            _shipped_calls(item, shipped, calls, outer)
        return
    if not isinstance(node, dict):
        return
    if shipped and lazy_initplans.is_kept_local(node):  # (computed on the catalog server)
        _shipped_calls(node["CaseExpr"], False, calls, outer)
        return
    sublink = node.get("SubLink")
    if isinstance(sublink, dict):
        # (PostgreSQL makes an InitPlan, whose value postgres_fdw may send, only of an
        # uncorrelated EXISTS, scalar, ARRAY or row-comparison sub-select; `IN (SELECT ...)`
        # and `op ANY/ALL (SELECT ...)` become a semi-join or a SubPlan computed here)
        if shipped and sublink.get("subLinkType") not in ("ANY_SUBLINK", "ALL_SUBLINK") \
                and not _correlated(sublink.get("subselect"), outer):
            for inner in analyze._walk(sublink):
                if isinstance(inner, dict) and isinstance(inner.get("FuncCall"), dict):
                    calls.add(_qualified(inner["FuncCall"].get("funcname", [])))
            return
        _shipped_calls(sublink.get("subselect"), True, calls, outer)  # (its own WHERE...)
        return
    select = node.get("SelectStmt")
    if isinstance(select, dict):
        names = outer | _range_names(select.get("fromClause"))
        for key, value in select.items():
            _shipped_calls(value, key not in ("targetList", "valuesLists"), calls, names)
        return
    write = node.get("UpdateStmt") or node.get("DeleteStmt")
    if isinstance(write, dict):  # (its target and FROM / USING relations are the outer ones)
        names = outer | _range_names([{"RangeVar": write.get("relation") or {}},
                                      *(write.get("fromClause") or write.get("usingClause") or [])])
        for value in write.values():
            _shipped_calls(value, shipped, calls, names)
        return
    for value in node.values():
        _shipped_calls(value, shipped, calls, outer)


def _range_names(from_clause: Any) -> frozenset[str]:
    """The names a FROM clause gives its relations (aliases, else table names), lower-case,
    joins included; not those of sub-selects nested further down."""
    names: set[str] = set()
    stack = list(from_clause or [])
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        kind, body = next(iter(item.items()), ("", None))
        if not isinstance(body, dict):
            continue
        alias = (body.get("alias") or {}).get("aliasname")
        if alias:
            names.add(str(alias).lower())
        elif kind == "RangeVar" and body.get("relname"):
            names.add(str(body["relname"]).lower())
        if kind == "JoinExpr":
            stack += [body.get("larg"), body.get("rarg")]
    return frozenset(names)


def _correlated(subselect: Any, outer: frozenset[str]) -> bool:
    """Whether a sub-select names a column qualified by a relation of an enclosing query
    (`a.id`, `a` not a name of the sub-select's own FROM clauses): correlated, so computed
    per row. An unqualified outer column is not seen (the sub-select then counts as
    uncorrelated, the cautious answer)."""
    if not outer:
        return False
    own: set[str] = set()
    for node in analyze._walk(subselect):
        select = node.get("SelectStmt") if isinstance(node, dict) else None
        if isinstance(select, dict):
            own |= _range_names(select.get("fromClause"))
    if isinstance(subselect, dict) and isinstance(subselect.get("SelectStmt"), dict):
        own |= _range_names(subselect["SelectStmt"].get("fromClause"))
    for node in analyze._walk(subselect):
        ref = node.get("ColumnRef") if isinstance(node, dict) else None
        fields = ref.get("fields", []) if isinstance(ref, dict) else []
        if len(fields) >= 2 and "String" in fields[0]:
            qualifier = str(fields[0]["String"].get("sval", "")).lower()
            if qualifier in outer and qualifier not in own:
                return True
    return False


def written_names(tree: dict[str, Any]) -> set[str]:
    """Names of the relations a statement writes (where triggers, defaults and checks run)."""
    return {ref.name.lower() for ref in written_relations(tree)}


# pg_rewrite.ev_type of the rules each write fires (COPY and TRUNCATE fire none; MERGE
# fires those of its actions, taken all)
_RULE_EVENTS = {"InsertStmt": ("3",), "UpdateStmt": ("2",), "DeleteStmt": ("4",), "MergeStmt": ("2", "3", "4")}


def rule_events(tree: dict[str, Any]) -> set[tuple[str, str]]:
    """(relation name, pg_rewrite.ev_type) of the rules a statement's writes may fire: an
    ON UPDATE rule's code runs for an UPDATE of its table only, not for an INSERT into it
    nor for a read."""
    out: set[tuple[str, str]] = set()
    for node in analyze._walk(tree):
        if not isinstance(node, dict):
            continue
        for kind, events in _RULE_EVENTS.items():
            stmt = node.get(kind)
            if isinstance(stmt, dict):
                name = _ref(stmt.get("relation") or {}).name.lower()
                out.update((name, event) for event in events if name)
    return out


def written_relations(tree: dict[str, Any]) -> list[analyze.RelRef]:
    """The relations a statement writes, as written (schema or None, name): resolved with
    the session's path, they name the one table whose triggers, defaults and checks run."""
    out: list[analyze.RelRef] = []
    for node in analyze._walk(tree):
        if not isinstance(node, dict):
            continue
        for kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt"):
            stmt = node.get(kind)
            if isinstance(stmt, dict) and (kind != "CopyStmt" or stmt.get("is_from")):
                out.append(_ref(stmt.get("relation") or {}))
        truncate = node.get("TruncateStmt")
        if isinstance(truncate, dict):
            out.extend(_ref(rel.get("RangeVar", {})) for rel in truncate.get("relations", []))
    return [ref for ref in out if ref.name]


def _ref(relation: dict[str, Any]) -> analyze.RelRef:
    return analyze.RelRef(relation.get("schemaname"), str(relation.get("relname", "")),
                          int(relation.get("location", -1)), None)


def _do_stmt_access(do: dict[str, Any]) -> Access:
    args = sqlparse.do_arguments(do)
    return do_access(args.get("as", ""), args.get("language"))


def _qualified(names: list[Any]) -> tuple[str | None, str]:
    parts = [n.get("String", {}).get("sval", "") for n in names]
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return None, parts[-1] if parts else ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
