"""The coordinator's GTM commit log (frontend/coordinator.py GtmCommitLog) with a fake GTM
client: forgets travel with the next decision logged, or together after a short delay;
none is sent twice, none is lost while the GTM answers."""

from __future__ import annotations

import asyncio
from typing import Any

from gridpg.frontend.coordinator import GtmCommitLog
from gridpg.gtm.protocol import GtmError


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


class FencingGtm(FakeGtm):
    """Grants commit tokens 1, 2, ... and records acquires and releases."""

    def __init__(self) -> None:
        super().__init__()
        self.link = object()

    async def fence_acquire(self, mode: str) -> int:
        self.calls.append(("acquire", mode))
        await asyncio.sleep(0.01)
        return sum(1 for c in self.calls if c[0] == "acquire")

    def fence_release_now(self, token: int) -> bool:
        self.calls.append(("release", token))
        return True

    def open_link(self) -> object:
        return self.link

    async def fence_watch(self, wait: float) -> bool:
        raise GtmError("0A000", "unknown GTM operation 'fence_watch'")  # (no watch: short windows)


def test_commit_rounds_use_a_claimed_or_shared_token_and_the_logged_one() -> None:
    """A round with a claim (asked for beside its PREPAREs) and one without, at once: one
    token for both; a round holding the token that came with the decision's log asks for
    none and gives that one back."""
    async def body() -> list[tuple[str, Any]]:
        gtm = FencingGtm()
        log = GtmCommitLog(gtm)  # type: ignore[arg-type]
        ran: list[str] = []

        def round_(name: str) -> Any:
            async def run() -> None:
                ran.append(name)
            return run

        claim = log.claim_commit_fence()
        await asyncio.gather(log.commit_fenced(round_("claimed"), claim), log.commit_fenced(round_("joined")))
        await log.commit_fenced(round_("logged"), 9)
        assert sorted(ran) == ["claimed", "joined", "logged"]
        log.drop_commit_fence(claim)  # (already given back by its round: nothing happens)
        await asyncio.sleep(0.02)  # the shared token lingers to its window's end (5 ms)
        return gtm.calls

    assert asyncio.run(body()) == [("acquire", "commit"), ("release", 9), ("release", 1)]
