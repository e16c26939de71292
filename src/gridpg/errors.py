"""Errors a client sees: every one carries a SQLSTATE.

Three families stay apart, as in asyncpg: `PgError` (the server, ours or a datanode, says
so: sent to the client as an ErrorResponse), `ProtocolViolation` (in pgwire: the peer broke
the protocol) and ordinary Python exceptions (our bugs: reported as XX000).
"""

from __future__ import annotations

import hashlib
import re

from gridpg.pgwire.codec import build_error_fields

# The SQLSTATE codes gridpg raises itself, by name.
FEATURE_NOT_SUPPORTED = "0A000"
PROTOCOL_VIOLATION = "08P01"
CONNECTION_FAILURE = "08006"
TRANSACTION_RESOLUTION_UNKNOWN = "08007"
INVALID_AUTHORIZATION = "28000"
INVALID_PASSWORD = "28P01"
TOO_MANY_CONNECTIONS = "53300"
QUERY_CANCELED = "57014"
SYNTAX_ERROR = "42601"
UNDEFINED_TABLE = "42P01"
UNDEFINED_OBJECT = "42704"
DUPLICATE_OBJECT = "42710"
INVALID_PARAMETER_VALUE = "22023"
CHARACTER_NOT_IN_REPERTOIRE = "22021"
INVALID_TABLE_DEFINITION = "42P16"
DATATYPE_MISMATCH = "42804"
IN_FAILED_TRANSACTION = "25P02"
ACTIVE_SQL_TRANSACTION = "25001"
NO_ACTIVE_SQL_TRANSACTION = "25P01"
INVALID_TRANSACTION_STATE = "25000"
INSUFFICIENT_PRIVILEGE = "42501"
DEPENDENT_OBJECTS_STILL_EXIST = "2BP01"
INTERNAL_ERROR = "XX000"
CARDINALITY_VIOLATION = "21000"
PROGRAM_LIMIT_EXCEEDED = "54000"
OBJECT_IN_USE = "55006"
OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"
ADMIN_SHUTDOWN = "57P01"
CANNOT_CONNECT_NOW = "57P03"
SERIALIZATION_FAILURE = "40001"
TRANSACTION_ROLLBACK = "40000"
UNIQUE_VIOLATION = "23505"
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"
INVALID_SQL_STATEMENT_NAME = "26000"
INVALID_CURSOR_NAME = "34000"
DUPLICATE_PSTATEMENT = "42P05"
DUPLICATE_CURSOR = "42P03"
INVALID_CURSOR_DEFINITION = "42P11"
UNDEFINED_COLUMN = "42703"
AMBIGUOUS_COLUMN = "42702"
INVALID_COLUMN_REFERENCE = "42P10"
READ_ONLY_SQL_TRANSACTION = "25006"


class PgError(Exception):
    """An error reported to the client with SQLSTATE, message, detail and hint."""

    def __init__(
        self,
        sqlstate: str,
        message: str,
        detail: str | None = None,
        hint: str | None = None,
        severity: str = "ERROR",
        node: str | None = None,
        fields: dict[str, str] | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
        self.severity = severity
        self.node = node
        self.fields = fields
        self.text = text  # the SQL a node ran, which the position field ("P") points into

    @classmethod
    def from_fields(cls, fields: dict[str, str], node: str | None = None, text: str | None = None) -> PgError:
        """A datanode's ErrorResponse, kept whole so it reaches the client unchanged (but for
        shard names, which become the user's table and constraint names, and a position
        into `text`, placed in the client's text by sql/positions.py)."""
        if fields.get("s") == SHARD_SCHEMA and "t" in fields:
            fields = _unshard(fields)
        if '"' in fields.get("M", ""):
            fields = _referenced_shard(fields)
            if ':' in fields["M"]:
                fields = _shard_index_names(fields)
        if "remote SQL command: " in fields.get("W", ""):
            fields = _without_loopback_context(fields)
        if fields.get("n") == PLACEMENT_CHECK and fields.get("C") == "23514":
            fields = _placement_refusal(fields)
        return cls(
            fields.get("C", INTERNAL_ERROR), fields.get("M", ""), fields.get("D"),
            fields.get("H"), fields.get("S", "ERROR"), node, fields, text,
        )

    def to_fields(self) -> dict[str, str]:
        if self.fields is not None:
            # A server's own error reaches the client as PostgreSQL words it, its context
            # included and nothing added (psql's output stays PostgreSQL's); errors gridpg
            # makes about a node (a lost connection, a refusal) name it.
            return dict(self.fields)
        fields = {"S": self.severity, "V": self.severity, "C": self.sqlstate, "M": self.message}
        if self.detail:
            fields["D"] = self.detail
        if self.hint:
            fields["H"] = self.hint
        if self.node:
            fields["W"] = f"datanode {self.node}"
        return fields

    def to_message(self) -> bytes:
        return build_error_fields(b"E", self.to_fields())

    @property
    def is_fatal(self) -> bool:
        return self.severity in ("FATAL", "PANIC")


SHARD_SCHEMA = "gridpg_shards"
# The CHECK keeping an inheritance member's datanode copy to its node's shards
# (commands/partitions.placement_check_sql).
PLACEMENT_CHECK = "gridpg_placement"


def _placement_refusal(fields: dict[str, str]) -> dict[str, str]:
    """A row written in place on a datanode whose new distribution column value belongs to
    another node's shards (an UPDATE through a view or rule, a BEFORE trigger changing the
    column): PostgreSQL would take it, so not its 23514 about a constraint the user never
    made, but what gridpg does not do and why (0A000)."""
    table = fields.get("t", "")
    out = {k: v for k, v in fields.items() if k not in ("n", "c", "H")}
    out["C"] = FEATURE_NOT_SUPPORTED
    out["M"] = (f'a row of "{table}" would have to move to another datanode: gridpg does not move a row written '
                "in place with a new distribution column value (an UPDATE through a view or rule, or a trigger "
                "changing the column)")
    out["H"] = "update the distribution column of the table itself, naming the rows in WHERE"
    return out
_SHARD_NAME = re.compile(r"^(?P<schema>.+)\.(?P<table>.+)_(?P<remainder>\d+)$")


def _without_loopback_context(fields: dict[str, str]) -> dict[str, str]:
    """An error of a statement server-side code ran through the loopback carries the
    catalog server's postgres_fdw context line (`remote SQL command: INSERT INTO
    public.t(id, v) VALUES ($1, $2)`), which PostgreSQL running the code itself does not
    have: left out, so the context is PostgreSQL's."""
    lines = [line for line in fields["W"].split("\n") if not line.startswith("remote SQL command: ")]
    out = dict(fields)
    if lines:
        out["W"] = "\n".join(lines)
    else:
        del out["W"]
    return out


def _unshard(fields: dict[str, str]) -> dict[str, str]:
    """Shard `gridpg_shards."s.t_7"` read as `s.t`; its index `s.t_7:users_email_uq` as
    the user's `users_email_uq` (or, named by PostgreSQL, `s.t_7_pkey` as `t_pkey`)."""
    match = _SHARD_NAME.match(fields["t"])
    if match is None:
        return fields
    shard = fields["t"]
    table = match["table"]
    out = dict(fields)
    out["s"] = match["schema"]
    out["t"] = table
    # a shard index named after the user's (commands/shard_indexes.py)
    prefixes = (f"{shard}:", hashlib.md5(shard.encode(), usedforsecurity=False).hexdigest()[:10] + ":")
    for key in ("M", "D", "n", "W"):
        if key in out:
            text = out[key]
            for prefix in prefixes:
                text = text.replace(f'"{prefix}', '"').replace(prefix, "")
            out[key] = text.replace(f'"{shard}', f'"{table}').replace(shard, table)
    return out


_QUOTED_SHARD = re.compile(r'"(?P<schema>[^".]+)\.(?P<table>[^"]+)_(?P<remainder>\d+)"')
_REFERENCED = re.compile(r'^update or delete on table "(?P<shard>[^"]+)" violates foreign key constraint '
                         r'"(?P<constraint>[^"]+)_\d+" on table ')


def _referenced_shard(fields: dict[str, str]) -> dict[str, str]:
    """A shard named in the text of an error about another table: `update or delete on
    table "s.t_7" violates foreign key constraint "c_fkey_13" on table "c"` (a row of a
    HASH table still referenced). PostgreSQL names the copy of the foreign key it made
    for each partition of the referenced table (`c_fkey_13`): read as the user's `c_fkey`."""
    message = fields["M"]
    found = _REFERENCED.match(message)
    if found is None and _QUOTED_SHARD.search(message) is None:
        return fields
    out = dict(fields)
    if found is not None and _SHARD_NAME.match(found["shard"]):
        clone = message[found.start("constraint"):].split('"', 1)[0]
        out["M"] = message.replace(f'"{clone}"', f'"{found["constraint"]}"', 1)
        if out.get("n") == clone:
            out["n"] = found["constraint"]
    for key in ("M", "D"):
        if key in out:
            out[key] = _QUOTED_SHARD.sub(lambda m: f'"{m["table"]}"', out[key])
    return out


# a shard index named after the user's index (commands/shard_indexes.py): `s.t_7:name`,
# or, where that would be too long, the shard's digest and `:name` (taken only as the
# name of an index or relation: a value quoted in a message may look so)
_QUOTED_SHARD_INDEX = re.compile(r'"[^".]+\.[^"]+_\d+:(?P<index>[^"]+)"'
                                 r'|(?P<word2>\b(?:INDEX|index|relation) )"[0-9a-f]{10}:(?P<index2>[^"]+)"')


def _shard_index_names(fields: dict[str, str]) -> dict[str, str]:
    """A shard's index named in an error that has no table field, read as the user's
    index: `cannot DROP INDEX "s.t_30:t_pkey" because it is being used by active queries
    in this session` (55006) as `"t_pkey"`, as PostgreSQL names it."""
    out = dict(fields)
    for key in ("M", "D"):
        if key in out:
            out[key] = _QUOTED_SHARD_INDEX.sub(
                lambda m: f'"{m["index"]}"' if m["index"] else f'{m["word2"]}"{m["index2"]}"', out[key])
    return out


def notice(message: str, severity: str = "NOTICE", sqlstate: str = "00000") -> bytes:
    return build_error_fields(b"N", {"S": severity, "V": severity, "C": sqlstate, "M": message})


# client_min_messages' order (PostgreSQL's elog.h): a message goes to the client when its
# level is at least the setting's; INFO always does.
_CLIENT_LEVELS = {"debug5": 10, "debug4": 11, "debug3": 12, "debug2": 13, "debug1": 14, "debug": 14,
                  "log": 15, "info": 17, "notice": 18, "warning": 19, "error": 21}


def notice_shown(severity: str, client_min_messages: str | None) -> bool:
    """Whether a notice of `severity` reaches a client whose client_min_messages is this."""
    level = _CLIENT_LEVELS.get(severity.lower(), 18)
    return level == 17 or level >= _CLIENT_LEVELS.get((client_min_messages or "notice").lower(), 18)


def fatal(sqlstate: str, message: str) -> PgError:
    return PgError(sqlstate, message, severity="FATAL")


STATEMENT_TOO_COMPLEX = "54001"


def stack_depth_exceeded() -> PgError:
    """PostgreSQL's answer to a statement nested deeper than its stack allows, for one
    nested deeper than the coordinator's Python recursion allows (a parse tree of 5,000
    `||` is 5,000 levels deep): an error of the statement, not of the session."""
    return PgError(STATEMENT_TOO_COMPLEX, "stack depth limit exceeded",
                   hint="The statement nests too deeply for gridpg's coordinator; split or flatten it.")


def cached_plan_changed() -> PgError:
    """PostgreSQL's error for a prepared statement whose result columns changed since it
    was prepared, with its source fields: asyncpg recognizes it by the routine
    (`RevalidateCachedQuery`), not the localizable message, and then prepares the
    statement again and retries it (outside a transaction); without the field its users
    got the error on the first query after a migration."""
    message = "cached plan must not change result type"
    return PgError(FEATURE_NOT_SUPPORTED, message, fields={
        "S": "ERROR", "V": "ERROR", "C": FEATURE_NOT_SUPPORTED, "M": message,
        "F": "plancache.c", "R": "RevalidateCachedQuery"})
