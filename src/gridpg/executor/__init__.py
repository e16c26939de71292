"""executor layer; see docs/architecture.md."""
