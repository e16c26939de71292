"""gtm layer; see docs/architecture.md."""
