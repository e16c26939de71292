"""planner layer: statement in, plan out; pure (see docs/architecture.md).

`Planner().plan(sql, CatalogView, SessionView, BoundParams) -> Plan`.
"""
