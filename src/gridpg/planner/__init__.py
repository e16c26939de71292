"""planner layer; see docs/architecture.md."""
