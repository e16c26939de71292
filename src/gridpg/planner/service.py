"""The planner service: from a statement and the catalog snapshot to a plan, and its caches.

Placeholder seam while the strategies are built: every statement goes to the catalog server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.coordinator import Coordinator


class Planner:
    def __init__(self, coordinator: Coordinator) -> None:
        self.coord = coordinator
        self.cache: dict[Any, Any] = {}

    def invalidate(self) -> None:
        self.cache.clear()

    def describe_sql(self, sql: str) -> str:
        return sql

    async def run(self, dispatcher: Dispatcher, request: ExecRequest) -> bool:
        return False
