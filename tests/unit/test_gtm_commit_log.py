"""The coordinator's GTM commit log (frontend/coordinator.py GtmCommitLog) with a fake GTM
client: forgets travel with the next decision logged, or together after a short delay;
none is sent twice, none is lost while the GTM answers."""

from __future__ import annotations

import asyncio
from typing import Any

from gridpg.frontend.coordinator import GtmCommitLog


class FakeGtm:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_forget = False

    async def txn_log_commit(self, gid: str, nodes: list[str], forget: list[str] | None = None) -> None:
        self.calls.append(("log", (gid, list(forget or []))))

    async def txn_log_commit_fenced(self, gid: str, nodes: list[str],
                                    forget: list[str] | None = None) -> tuple[int, float]:
        self.calls.append(("log_fenced", (gid, list(forget or []))))
        return 1, 0.0

    async def txn_forget_many(self, gids: list[str]) -> None:
        self.calls.append(("forget", list(gids)))
        if self.fail_forget:
            raise OSError("GTM unavailable")


def test_forgets_go_with_the_next_decision() -> None:
    async def body() -> None:
        gtm = FakeGtm()
        log = GtmCommitLog(gtm)  # type: ignore[arg-type]
        await log.forget("g1")
        await log.forget("g2")
        await log.log_commit_fenced("g3", ["dn1", "dn2"])
        await log.log_commit("g4", ["dn1", "dn2"])  # nothing left to carry
        await asyncio.sleep(GtmCommitLog.FORGET_DELAY * 2)  # the timer finds nothing to send
        assert gtm.calls == [("log_fenced", ("g3", ["g1", "g2"])), ("log", ("g4", []))]

    asyncio.run(body())


def test_forgets_without_a_decision_are_sent_together() -> None:
    async def body() -> None:
        gtm = FakeGtm()
        log = GtmCommitLog(gtm)  # type: ignore[arg-type]
        for gid in ("g1", "g2", "g3"):
            await log.forget(gid)
        assert gtm.calls == []  # not yet: waiting for a decision to travel with
        await asyncio.sleep(GtmCommitLog.FORGET_DELAY * 3)
        assert gtm.calls == [("forget", ["g1", "g2", "g3"])]
        gtm.fail_forget = True  # a GTM that does not answer: logged, not raised
        await log.forget("g5")
        await asyncio.sleep(GtmCommitLog.FORGET_DELAY * 3)
        assert gtm.calls[-1] == ("forget", ["g5"])

    asyncio.run(body())
