"""The interruption mix of `tests/integration/cancel_mix.py`, long and randomized (opt-in):
GRIDPG_CANCEL_STRESS_SECONDS=300 runs it for five minutes with GRIDPG_CANCEL_STRESS_WORKERS
threads (default 6) and a random seed (printed; GRIDPG_CANCEL_STRESS_SEED repeats one).
Skipped otherwise: CI runs the short fixed-seed version in tests/integration/test_cancel_safety.py.

Every read must be exact (or 57014 under a timeout), no setting, role or transaction state
may reach another session, every acknowledged write must be there and no interrupted block's
write visible. 127.0.0.1 only: the session cluster of tests/conftest.py.
"""

from __future__ import annotations

import os
import random

import pytest

from gridpg.cluster.control import Cluster
from tests.integration import cancel_mix

_SECONDS = float(os.environ.get("GRIDPG_CANCEL_STRESS_SECONDS", "0"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_SECONDS <= 0, reason="opt-in: set GRIDPG_CANCEL_STRESS_SECONDS"),
    pytest.mark.timeout(int(_SECONDS) + 600),
]


def test_randomized_interruptions_leave_no_trace(gridpg_cluster: Cluster, schema: str,
                                                 datanodes: dict[str, str]) -> None:
    workers = int(os.environ.get("GRIDPG_CANCEL_STRESS_WORKERS", "6"))
    seed = int(os.environ.get("GRIDPG_CANCEL_STRESS_SEED", str(random.randrange(1 << 20))))
    print(f"cancel stress: seed {seed}, {workers} workers, {_SECONDS:.0f} s")
    dsn = gridpg_cluster.dsn(0)
    cancel_mix.create_tables(dsn, schema, workers)
    findings = cancel_mix.run_mix(dsn, sorted(datanodes.values()), schema, _SECONDS, workers, seed=seed)
    print(cancel_mix.summary(findings))
    assert not findings.wrong, f"seed {seed}: " + cancel_mix.summary(findings)
    assert findings.counts.get("57014", 0) > 0
