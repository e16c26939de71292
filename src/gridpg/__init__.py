"""gridpg: a distributed SQL database in Python on stock PostgreSQL.

The package is layered; `docs/architecture.md` lists the layers and which may call which.
"""

__version__ = "0.1.0"
