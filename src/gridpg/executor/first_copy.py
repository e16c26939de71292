"""When a write to every copy of a REPLICATION table may lock its rows on the table's
first node first (planner/writes.first_copy_lock, run by executor/multi.scatter).

The lock is a `SELECT ... FOR [NO KEY] UPDATE` of the target: PostgreSQL asks the role
for SELECT and UPDATE rights on the table to run it, where the write itself may need only
UPDATE (no WHERE) or DELETE. So it runs only for a role holding both on some column
(checked on the table's first node, per catalog epoch and role: a GRANT or REVOKE is DDL
and bumps the epoch); where it does not, or the check cannot be read, the write runs as
before, on every copy at once. And only where its snapshot cannot become the
transaction's on that node: READ COMMITTED (one snapshot per statement), or a REPEATABLE
READ block whose cluster-wide snapshot was taken when it joined the nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.executor.verdicts import EpochVerdicts
from gridpg.planner.plan import FirstCopyLock
from gridpg.sql.quote import quote_ident, quote_literal
from gridpg.txn.snapshot import READ_COMMITTED

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.statements import StatementRunner

RIGHTS_SQL = ("SELECT pg_catalog.has_any_column_privilege({role}, {table}, 'SELECT') "
              "AND pg_catalog.has_any_column_privilege({role}, {table}, 'UPDATE')")


class FirstCopyRights:
    """Per coordinator: whether a role may lock a table's rows, for one catalog epoch."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coord = coordinator
        # unknown: written as before, asked again next epoch
        self._verdicts: EpochVerdicts[bool] = EpochVerdicts(False)

    async def may_lock(self, runner: StatementRunner, lock: FirstCopyLock) -> bool:
        txn = runner.txn
        if not (txn.cluster_snapshot or txn.effective_isolation == READ_COMMITTED):
            return False
        snapshot = self.coord.snapshot
        if snapshot is None:
            return False
        role = str(runner.state.role or runner.state.session_user)
        return await self._verdicts.get(snapshot.epoch, (role, *lock.table),
                                        lambda: self._load(lock.group, role, lock.table))

    async def _load(self, group: str, role: str, table: tuple[str, str]) -> bool:
        qualified = f"{quote_ident(table[0])}.{quote_ident(table[1])}"
        rows = await self.coord.internal_query(
            group, RIGHTS_SQL.format(role=quote_literal(role), table=quote_literal(qualified)))
        return bool(rows) and rows[0][0] == "t"
