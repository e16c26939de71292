"""sql layer; see docs/architecture.md."""
