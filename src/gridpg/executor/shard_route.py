"""Which HASH tables a role's routed statements may address by their shard (issue 11).

PostgreSQL checks privileges, applies row-level security and fires statement-level
triggers and rules on the relation a statement names. A routed statement may name its
shard instead of the table (planner/shard_route.py) only where that cannot change the
answer, the error or what fires. Checked on each datanode group, per catalog epoch and
role, table by table as statements need them (`ShardRoutes.allows`); a table qualifies when,
on every group holding its shards:

* the table has no row security (enabled or forced) and no rules; nor has any of its
  shards; and neither has statement-level triggers or triggers with transition tables
  for the statement's event (UPDATE, DELETE; a SELECT fires none);
* its only children are its shards, ordinary tables in `gridpg_shards` (a table the user
  partitions, or an inheritance parent, keeps the parent route: the leaf is not certain);
* each shard has the table's owner, ACL, and columns (names, types, typmods, collations,
  column ACLs, defaults, generated and identity kinds, in the same order): `SELECT *`,
  `RETURNING *` and every privilege read the same from it;
* the role may use the table's schema (the shard's schema, which PUBLIC may use, is
  checked in its place) and holds SELECT (and UPDATE and DELETE, for a write or a locking read) on the table
  itself: then no privilege error can name the shard instead of the table.

A GRANT, REVOKE, ALTER TABLE or CREATE TRIGGER/POLICY/RULE is DDL: its commit bumps the
catalog epoch, and the verdicts of the old epoch are dropped with it. A verdict that
cannot be read (a node down, a role unknown there) is "no": the parent route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gridpg.executor.verdicts import EpochVerdicts
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.frontend.coordinator import Coordinator

_COLUMNS = """ARRAY(SELECT ROW(a.attname, a.atttypid, a.atttypmod, a.attcollation, a.attacl::text,
  a.attgenerated, a.attidentity, pg_catalog.pg_get_expr(d.adbin, d.adrelid))::text
  FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = {rel}.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)"""

ALLOWED_SQL = f"""
SELECT n.nspname, p.relname,
  pg_catalog.has_table_privilege({{role}}, p.oid, 'SELECT'),
  pg_catalog.has_table_privilege({{role}}, p.oid, 'UPDATE')
    AND pg_catalog.has_table_privilege({{role}}, p.oid, 'DELETE'),
  (SELECT coalesce(pg_catalog.bit_or(t.tgtype), 0) FROM pg_catalog.pg_trigger t
    WHERE (t.tgrelid = p.oid OR t.tgrelid IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = p.oid))
      AND NOT t.tgisinternal AND (t.tgtype & 1 = 0 OR t.tgnewtable IS NOT NULL OR t.tgoldtable IS NOT NULL))
FROM pg_catalog.pg_class p JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
WHERE p.oid = pg_catalog.to_regclass({{table}}) AND p.relkind = 'p' AND n.nspname <> 'gridpg_shards'
  AND NOT p.relrowsecurity AND NOT p.relforcerowsecurity AND NOT p.relhasrules
  AND pg_catalog.has_schema_privilege({{role}}, n.oid, 'USAGE')
  AND NOT EXISTS (
    SELECT FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = p.oid AND NOT (
      c.relnamespace = 'gridpg_shards'::pg_catalog.regnamespace AND c.relkind = 'r' AND c.relispartition
      AND c.relowner = p.relowner AND c.relacl IS NOT DISTINCT FROM p.relacl
      AND NOT c.relrowsecurity AND NOT c.relforcerowsecurity AND NOT c.relhasrules
      AND {_COLUMNS.format(rel="c")} = {_COLUMNS.format(rel="p")}))"""


# pg_trigger.tgtype bits of the events a statement fires triggers for
_EVENT_BITS = {"SelectStmt": 0, "UpdateStmt": 16, "DeleteStmt": 8}


@dataclass(frozen=True)
class TableRights:
    """What a role may do with a table through its shards (see the module's list)."""

    select: bool
    write: bool  # UPDATE and DELETE (a write, or a locking read)
    # tgtype bits of the table's (and its shards') statement-level triggers and triggers
    # with transition tables: a statement of such an event names the table
    trigger_events: int = 0

    def allow(self, kind: str, locks: bool) -> bool:
        """Whether a statement of `kind` (a locking read when `locks`) may name the shard."""
        if not self.select or ((locks or kind != "SelectStmt") and not self.write):
            return False
        return not self.trigger_events & _EVENT_BITS.get(kind, 0xFF)


class ShardRoutes:
    """Per coordinator: the verdicts of one catalog epoch, by (datanode group, role)."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coord = coordinator
        # by (datanode group, role, schema, table): one table's check at a time, so that the
        # cost of an epoch does not grow with the number of tables on the node; unknown:
        # the parent route
        self._verdicts: EpochVerdicts[TableRights | None] = EpochVerdicts(None)

    async def allows(self, table: DistTable, role: str, kind: str, locks: bool, epoch: int) -> bool:
        """Whether a statement of `kind` by `role` (a locking read when `locks`) may name
        `table`'s shards under the catalog of `epoch`."""
        for group in table.groups:
            rights = await self._verdicts.get(epoch, (group, role, *table.key),
                                              lambda g=group: self._load(g, role, table.key))
            if rights is None or not rights.allow(kind, locks):
                return False
        return True

    async def _load(self, group: str, role: str, key: tuple[str, str]) -> TableRights | None:
        coord = self.coord
        if group not in coord.datanode_addresses:
            return None
        qualified = f"{quote_ident(key[0])}.{quote_ident(key[1])}"
        rows = await coord.internal_query(
            group, ALLOWED_SQL.format(role=quote_literal(role), table=quote_literal(qualified)))
        for schema, name, select, write, events in rows:
            if (schema, name) == key:
                return TableRights(select == "t", write == "t", int(events or 0))
        return None
