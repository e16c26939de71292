"""The executor runs every plan type the planner makes, and refuses one it does not know
(an error with a SQLSTATE, never a silent fall-through to another strategy)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import ClassVar

import pytest

from gridpg.errors import PgError
from gridpg.executor import multi, run
from gridpg.planner import plan as plans


def concrete_plans() -> list[type]:
    abstract = {plans.Plan, plans.DistributedPlan, plans.StatementPlan}
    return [c for _, c in inspect.getmembers(plans, inspect.isclass)
            if issubclass(c, plans.Plan) and c not in abstract]


def test_every_plan_type_has_an_executor() -> None:
    kinds = concrete_plans()
    assert len(kinds) >= 18
    assert sorted(c.__name__ for c in kinds if c not in run._RUNNERS) == []


def test_every_strategy_is_made_by_one_plan_type() -> None:
    made = {c.strategy for c in concrete_plans()}
    assert made == set(plans.Strategy)


def test_an_unknown_plan_type_is_an_error() -> None:
    @dataclass(frozen=True)
    class Stranger(plans.Plan):
        strategy: ClassVar[plans.Strategy] = plans.Strategy.ROUTER

    with pytest.raises(PgError) as err:
        asyncio.run(run.execute(None, None, Stranger()))  # type: ignore[arg-type]
    assert err.value.sqlstate == "XX000" and "Stranger" in err.value.message


def test_a_multi_node_plan_of_another_strategy_is_an_error() -> None:
    @dataclass(frozen=True)
    class Odd(plans.DistributedPlan):
        strategy: ClassVar[plans.Strategy] = plans.Strategy.CATALOG

    with pytest.raises(PgError) as err:
        asyncio.run(multi.execute_plan(None, None, Odd()))  # type: ignore[arg-type]
    assert err.value.sqlstate == "XX000"
