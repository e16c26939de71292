"""catalog layer; see docs/architecture.md."""
