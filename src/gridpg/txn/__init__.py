"""txn layer; see docs/architecture.md."""
