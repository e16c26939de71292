"""pgwire layer; see docs/architecture.md."""
