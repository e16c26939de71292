"""The monitor process: started by `gridpg up`, leader by its GTM lease; a second monitor
waits, and takes over when the leader dies (cluster/monitor.py)."""

from __future__ import annotations

import os
import signal
import time

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.gtm.client import gtm_call_sync


def lease_holder(cluster: Cluster) -> str:
    gtm = cluster.topology.gtm
    return str(gtm_call_sync(gtm.host, gtm.port, "lease_get", name="monitor").get("holder") or "")


def wait_for(check, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_second_monitor_takes_over_when_the_leader_dies(gridpg_cluster: Cluster) -> None:
    directory = gridpg_cluster.dir
    first = processes.running_pid(directory, "monitor")
    assert first is not None
    assert wait_for(lambda: lease_holder(gridpg_cluster).endswith(f":{first}"), 15)
    row = next(r for r in gridpg_cluster.status() if r.name == "monitor")
    assert (row.kind, row.role, row.state) == ("monitor", "leader", "running")
    second = processes.spawn(directory, "monitor2", ["monitor", "--dir", str(directory)])
    try:
        time.sleep(2.5)  # the second one runs, but the lease stays with the leader
        assert lease_holder(gridpg_cluster).endswith(f":{first}")
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        assert wait_for(lambda: lease_holder(gridpg_cluster).endswith(f":{second}"), 10), \
            lease_holder(gridpg_cluster)
        took = time.monotonic() - killed
        assert took < 6.0, took  # the lease's TTL (3 s) plus a renewal
        print(f"monitor2 took over {took:.1f} s after the leader was killed")
    finally:
        processes.stop(directory, "monitor2")
        gridpg_cluster.up(lambda _m: None)  # `gridpg up` starts the monitor again
    restarted = processes.running_pid(directory, "monitor")
    assert restarted is not None and restarted != first
    assert wait_for(lambda: lease_holder(gridpg_cluster).endswith(f":{restarted}"), 15)
