"""What the planner is given besides the statement: catalog facts, the session's view, the
bound parameters. Plain values, gathered by the executor before planning. Pure.

- `CatalogView`: the metadata snapshot and the view definitions loaded with it (the planner
  never asks a server for either).
- `SessionView`: the session's search_path (already read from its settings, `$user`
  replaced).
- `BoundParams`: the values of `$n` as the client sent them (text or binary), decoded to
  PostgreSQL's text form on demand by `value_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.pgwire.binary import decode_binary_param
from gridpg.planner import analyze, tempnames


@dataclass(frozen=True)
class CatalogView:
    """Metadata at one epoch: distributed tables and user views (name -> definition, every
    name in it schema-qualified). `cacheable` is False for a transaction's private snapshot
    (DDL inside the transaction): plans made from it are not kept."""

    snapshot: CatalogSnapshot
    views: Mapping[tuple[str, str], str] = field(default_factory=dict)
    cacheable: bool = True
    # the rules of distributed tables (planner/rules.py TableRules), by (schema, table)
    rules: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    # the comment that opens the original statement of such a table's write once its
    # rules are applied (the coordinator's own, unguessable)
    rules_marker: str = ""

    def resolve(self, ref: analyze.RelRef, search_path: tuple[str, ...] | list[str]) -> DistTable | None:
        """The distributed table a reference names, or None (local table, view, CTE...)."""
        return resolve(self.snapshot, ref, search_path)


def resolve(snapshot: CatalogSnapshot, ref: analyze.RelRef,
            search_path: tuple[str, ...] | list[str]) -> DistTable | None:
    if ref.schema:
        return snapshot.table(ref.schema, ref.name)
    for schema in search_path:
        if schema == tempnames.MARK + ref.name:
            return None  # the session's temp relation comes first (planner/tempnames.py)
        table = snapshot.table(schema, ref.name)
        if table is not None:
            return table
    return None


@dataclass(frozen=True)
class SessionView:
    """The session settings planning depends on."""

    search_path: tuple[str, ...] = ("public",)
    replica: bool = False  # session_replication_role = replica: which rules fire (planner/rules.py)


def parse_search_path(raw: str | None, user: str) -> tuple[str, ...]:
    """A search_path setting as schema names: quotes removed, `$user` replaced."""
    if raw is None:
        raw = '"$user", public'
    out = []
    for part in raw.split(","):
        name = part.strip()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('""', '"')
        else:
            name = name.lower()
        if name == "$user":
            name = user
        if name:
            out.append(name)
    return tuple(out)


@dataclass(frozen=True)
class BoundParams:
    """Parameter values of one execution (extended protocol), as sent."""

    values: tuple[bytes | None, ...] = ()
    formats: tuple[int, ...] = ()
    oids: tuple[int, ...] = ()  # the types used to decode binary values

    @classmethod
    def from_texts(cls, texts: list[str | None]) -> BoundParams:
        return cls(tuple(None if t is None else t.encode() for t in texts), (0,), ())


UNKNOWN = object()  # a value that cannot be known at planning time


def value_text(value: analyze.Value, params: BoundParams) -> str | None | object:
    """The text form of a constant or bound parameter; UNKNOWN when it cannot be read."""
    if not value.param:
        return value.text
    index = value.param - 1
    if index >= len(params.values):
        return UNKNOWN
    raw = params.values[index]
    if raw is None:
        return None
    formats = params.formats
    fmt = formats[index] if len(formats) > 1 else (formats[0] if formats else 0)
    if fmt == 0:
        return raw.decode()
    oid = params.oids[index] if index < len(params.oids) else 0
    decoded = decode_binary_param(oid, raw)
    return UNKNOWN if decoded is None else decoded
