"""The metadata model: nodes, datanode groups, node groups, colocations, tables, shards.

Owns the frozen values that describe where data lives, the `CatalogSnapshot` a coordinator
plans against (one epoch, indexed for fast lookups), and the pure placement rules
(round-robin shard placement, choosing a colocation). Must not do I/O: no asyncio, no
sockets, no SQL text; reading and writing the catalog is `store.py`'s job.

Two kinds of "group", kept apart on purpose:

- a **datanode group** (`DatanodeGroup`) is one primary PostgreSQL plus its streaming
  standbys; shards are placed on datanode groups, never on hosts. This is what a
  Postgres-XL user calls a datanode (`TO NODE (dn1, dn2)` names datanode groups).
- a **node group** (`NodeGroup`) is Postgres-XL's named set used by `TO GROUP g`
  (`CREATE NODE GROUP g WITH (dn1, dn2)`): a user-level alias for datanode groups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

NodeKind = Literal["datanode", "coordinator", "catalog"]
NodeRole = Literal["primary", "secondary"]
DistMethod = Literal["hash", "modulo", "roundrobin", "replication"]

NODE_KINDS: tuple[str, ...] = ("datanode", "coordinator", "catalog")
NODE_ROLES: tuple[str, ...] = ("primary", "secondary")

# PostgreSQL's built-in aggregates (a snapshot loaded from a catalog server lists them all,
# user-defined ones too; this set serves snapshots built without one, e.g. in tests)
BUILTIN_AGGREGATES: frozenset[str] = frozenset({
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "stddev", "stddev_samp",
    "stddev_pop", "variance", "var_samp", "var_pop", "string_agg", "array_agg", "json_agg",
    "jsonb_agg", "json_object_agg", "jsonb_object_agg", "json_objectagg", "json_arrayagg",
    "json_agg_strict", "jsonb_agg_strict", "json_object_agg_strict", "jsonb_object_agg_strict",
    "json_object_agg_unique", "jsonb_object_agg_unique", "json_object_agg_unique_strict",
    "jsonb_object_agg_unique_strict", "percentile_cont", "percentile_disc", "mode", "bit_and",
    "bit_or", "bit_xor", "corr", "covar_pop", "covar_samp", "regr_count", "regr_avgx",
    "regr_avgy", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
    "xmlagg", "any_value", "range_agg", "range_intersect_agg", "rank", "dense_rank",
    "percent_rank", "cume_dist",
})
DIST_METHODS: tuple[str, ...] = ("hash", "modulo", "roundrobin", "replication")


class CatalogError(Exception):
    """A catalog lookup or rule failed; `sqlstate` is what a client would see."""

    def __init__(self, message: str, sqlstate: str = "XX000") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class Node:
    """One PostgreSQL server (or coordinator) known to the cluster."""

    name: str
    kind: NodeKind
    host: str
    port: int
    group: str | None  # the datanode group of a datanode; None for other kinds
    role: NodeRole = "primary"
    active: bool = True


@dataclass(frozen=True)
class DatanodeGroup:
    """A primary and its standbys; the unit shards are placed on. Names are node names."""

    name: str
    primary: str | None  # None while a group has no primary (e.g. mid-failover)
    secondaries: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeGroup:
    """A Postgres-XL user node group (`TO GROUP g`): an ordered list of datanode groups."""

    name: str
    datanode_groups: tuple[str, ...]


@dataclass(frozen=True)
class Colocation:
    """Tables sharing shard count and distribution-column type place shard r together.

    `dist_type` is the canonical PostgreSQL type name of the distribution column
    (as `format_type` prints it, e.g. `integer`, `text`).
    """

    id: int
    shard_count: int
    dist_type: str


@dataclass(frozen=True)
class DistTable:
    """A distributed table; `groups` are the datanode groups it lives on, in order."""

    schema: str
    name: str
    method: DistMethod
    column: str | None
    column_type: str | None
    colocation_id: int | None
    shard_count: int | None
    groups: tuple[str, ...]
    # gridpg chose the distribution (no DISTRIBUTE BY, no create_distributed_table): a key
    # or foreign key added later that it cannot hold may make the table a REPLICATION table
    by_default: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True)
class Shard:
    """Shard `remainder` of a hash table (the partition `REMAINDER r`), and its group."""

    schema: str
    table: str
    remainder: int
    group: str
    size_bytes: int | None = None  # last measured size; None when never measured


@dataclass(frozen=True)
class ColocationChoice:
    """The colocation a new table joins; `is_new` says whether it must be inserted."""

    colocation: Colocation
    is_new: bool


def shard_table_name(schema: str, table: str, remainder: int) -> str:
    """The name of shard `remainder` of a HASH table in schema gridpg_shards on its datanode."""
    name = f"{schema}.{table}_{remainder}"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.blake2b(f"{schema}.{table}".encode(), digest_size=6).hexdigest()
    return f"{table.encode()[:40].decode(errors='ignore')}_{digest}_{remainder}"


def place_shards(shard_count: int, groups: Sequence[str]) -> dict[int, str]:
    """Round-robin placement: remainder r goes to groups[r % len(groups)]."""
    if shard_count < 1:
        raise CatalogError(f"shard count must be at least 1, not {shard_count}", "22023")
    if not groups:
        raise CatalogError("cannot place shards on an empty list of groups", "22023")
    return {r: groups[r % len(groups)] for r in range(shard_count)}


def find_or_create_colocation(
    colocations: Iterable[Colocation],
    shard_count: int,
    dist_type: str,
    *,
    taken_ids: Iterable[int] = (),
) -> ColocationChoice:
    """The colocation with this shard count and type, or a new one with the next free id.

    `taken_ids` are ids in use beyond `colocations` (when the caller has filtered the
    candidates), so a new id never collides.
    """
    existing = list(colocations)
    for colocation in sorted(existing, key=lambda c: c.id):
        if colocation.shard_count == shard_count and colocation.dist_type == dist_type:
            return ColocationChoice(colocation, is_new=False)
    next_id = max([c.id for c in existing] + list(taken_ids), default=0) + 1
    return ColocationChoice(Colocation(next_id, shard_count, dist_type), is_new=True)


def build_datanode_groups(names: Iterable[str], nodes: Iterable[Node]) -> list[DatanodeGroup]:
    """Datanode groups from the group names and the datanodes that belong to them."""
    members: dict[str, list[Node]] = {name: [] for name in names}
    for node in nodes:
        if node.kind == "datanode" and node.group is not None:
            members.setdefault(node.group, []).append(node)
    return [_group_from_members(name, members[name]) for name in sorted(members)]


def _group_from_members(name: str, nodes: list[Node]) -> DatanodeGroup:
    primaries = [n.name for n in nodes if n.role == "primary"]
    secondaries = tuple(sorted(n.name for n in nodes if n.role == "secondary"))
    return DatanodeGroup(name, primaries[0] if primaries else None, secondaries)


@dataclass(frozen=True)
class CatalogSnapshot:
    """All metadata at one epoch, indexed once; the planner's view of the cluster.
    `aggregates` names every aggregate function the catalog server knows (user-defined
    ones included): the planner must combine their results across nodes."""

    epoch: int
    nodes: tuple[Node, ...] = ()
    datanode_group_list: tuple[DatanodeGroup, ...] = ()
    node_groups: tuple[NodeGroup, ...] = ()
    colocations: tuple[Colocation, ...] = ()
    tables: tuple[DistTable, ...] = ()
    shards: tuple[Shard, ...] = ()
    aggregates: frozenset[str] = field(default_factory=lambda: BUILTIN_AGGREGATES)
    # Names of the functions outside pg_catalog whose provolatile is 'v' (a user's function
    # is VOLATILE unless declared otherwise): two nodes calling one may get two values.
    volatile_functions: frozenset[str] = frozenset()
    # Whether any constraint or constraint trigger is DEFERRABLE: else no transaction can
    # have checks left for its COMMIT (txn/transaction.py skips SET CONSTRAINTS ALL IMMEDIATE).
    deferrable: bool = True
    # Materialized views over distributed tables (REPLICATION tables on the datanodes, a
    # materialized view on the catalog servers), and those of them not populated
    matviews: frozenset[tuple[str, str]] = frozenset()
    unpopulated: frozenset[tuple[str, str]] = frozenset()
    # Columns of distributed tables holding OIDs by type (regclass, regtype, ... and their
    # arrays): (schema, table, column, position among the table's columns, from 1). A
    # datanode stores and compares its own OIDs in them (planner/catalog_oids.py).
    reg_columns: frozenset[tuple[str, str, str, int]] = frozenset()
    # Columns of distributed tables whose (base) type is not PostgreSQL's own: an
    # extension's (pgvector's vector, hstore, ...) or the user's: (schema, table, column).
    # Two-phase aggregation knows the partial forms of PostgreSQL's types only.
    foreign_type_columns: frozenset[tuple[str, str, str]] = frozenset()
    # Names of PostgreSQL's aggregates that a function of the user's (outside pg_catalog,
    # not an extension's) also has, as `CREATE AGGREGATE sum(text)`: a call of the name may
    # be the user's, which two-phase aggregation must not split as PostgreSQL's.
    shadowed_aggregates: frozenset[str] = frozenset()
    _index: _SnapshotIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _SnapshotIndex.build(self))

    def table(self, schema: str, name: str) -> DistTable | None:
        return self._index.tables.get((schema, name))

    def foreign_type_columns_of(self, schema: str, name: str) -> frozenset[str]:
        """The columns of a distributed table whose type is not PostgreSQL's own."""
        return self._index.foreign_type_columns.get((schema, name), frozenset())

    def reg_columns_of(self, schema: str, name: str) -> Mapping[str, int]:
        """The OID-typed columns of a distributed table: name -> position (from 1)."""
        return self._index.reg_columns.get((schema, name), {})

    def is_matview(self, table: DistTable) -> bool:
        return table.key in self.matviews

    def node(self, name: str) -> Node | None:
        return self._index.nodes.get(name)

    def node_group(self, name: str) -> NodeGroup | None:
        return self._index.node_groups.get(name)

    def colocation(self, colocation_id: int) -> Colocation | None:
        return self._index.colocations.get(colocation_id)

    def shards_of(self, schema: str, table: str) -> list[Shard]:
        """The shards of a table ordered by remainder; empty for non-hash tables."""
        return list(self._index.shards.get((schema, table), {}).values())

    def shard_group(self, schema: str, table: str, remainder: int) -> str:
        """The datanode group holding shard `remainder` of a table."""
        shard = self._index.shards.get((schema, table), {}).get(remainder)
        if shard is None:
            raise CatalogError(f"no shard {remainder} of table {schema}.{table}", "42704")
        return shard.group

    def primary_of(self, group: str) -> Node:
        """The primary node of a datanode group."""
        found = self._index.groups.get(group)
        if found is None:
            raise CatalogError(f"datanode group {group} does not exist", "42704")
        if found.primary is None or found.primary not in self._index.nodes:
            raise CatalogError(f"datanode group {group} has no primary", "57P03")
        return self._index.nodes[found.primary]

    def datanode_groups(self) -> list[DatanodeGroup]:
        return sorted(self.datanode_group_list, key=lambda g: g.name)

    def tables_in_colocation(self, colocation_id: int) -> list[DistTable]:
        return [t for t in self.tables if t.colocation_id == colocation_id]

    def colocated(self, t1: DistTable, t2: DistTable) -> bool:
        """Whether equal distribution values of t1 and t2 always live in the same group."""
        return is_colocated(t1, t2)

    def colocation_for(
        self, shard_count: int, dist_type: str, groups: Sequence[str]
    ) -> ColocationChoice:
        """The colocation a new hash table on `groups` joins (members must share groups)."""
        wanted = frozenset(groups)
        candidates = [c for c in self.colocations if self._has_groups(c.id, wanted)]
        taken = [c.id for c in self.colocations]
        return find_or_create_colocation(candidates, shard_count, dist_type, taken_ids=taken)

    def placement_of_colocation(self, colocation_id: int) -> dict[int, str] | None:
        """Where shard r of the colocation lives (from a member table), or None if empty."""
        members = self.tables_in_colocation(colocation_id)
        if not members:
            return None
        return {s.remainder: s.group for s in self.shards_of(*members[0].key)}

    def _has_groups(self, colocation_id: int, wanted: frozenset[str]) -> bool:
        members = self.tables_in_colocation(colocation_id)
        return all(frozenset(t.groups) == wanted for t in members)


def is_colocated(t1: DistTable, t2: DistTable) -> bool:
    """Colocation rule per method: see the comments on each branch."""
    if t1.key == t2.key:
        return True
    if t1.method != t2.method:
        return False
    if t1.method == "hash":  # same colocation group: shard r of both in one group
        return t1.colocation_id is not None and t1.colocation_id == t2.colocation_id
    if t1.method == "modulo":  # value % n picks groups[i]: same type and ordered groups
        return t1.column_type == t2.column_type and t1.groups == t2.groups
    if t1.method == "replication":  # full copies on the same groups
        return frozenset(t1.groups) == frozenset(t2.groups)
    return False  # roundrobin: rows land anywhere


@dataclass(frozen=True)
class _SnapshotIndex:
    """Dictionaries built once per snapshot; private to `CatalogSnapshot`."""

    nodes: Mapping[str, Node]
    groups: Mapping[str, DatanodeGroup]
    node_groups: Mapping[str, NodeGroup]
    colocations: Mapping[int, Colocation]
    tables: Mapping[tuple[str, str], DistTable]
    shards: Mapping[tuple[str, str], Mapping[int, Shard]]
    reg_columns: Mapping[tuple[str, str], Mapping[str, int]]
    foreign_type_columns: Mapping[tuple[str, str], frozenset[str]]

    @staticmethod
    def build(snapshot: CatalogSnapshot) -> _SnapshotIndex:
        shards: dict[tuple[str, str], dict[int, Shard]] = {}
        for shard in sorted(snapshot.shards, key=lambda s: s.remainder):
            shards.setdefault((shard.schema, shard.table), {})[shard.remainder] = shard
        reg_columns: dict[tuple[str, str], dict[str, int]] = {}
        for schema, table, column, position in snapshot.reg_columns:
            reg_columns.setdefault((schema, table), {})[column] = position
        foreign: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in snapshot.foreign_type_columns:
            foreign.setdefault((schema, table), set()).add(column)
        return _SnapshotIndex(
            nodes={n.name: n for n in snapshot.nodes},
            groups={g.name: g for g in snapshot.datanode_group_list},
            node_groups={g.name: g for g in snapshot.node_groups},
            colocations={c.id: c for c in snapshot.colocations},
            tables={t.key: t for t in snapshot.tables},
            shards=shards,
            reg_columns=reg_columns,
            foreign_type_columns={key: frozenset(cols) for key, cols in foreign.items()},
        )
