"""datanode layer; see docs/architecture.md."""
