"""
The spending limits of a connection (its extra) and of a task, and the check that holds them before
any create is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError, HeyGenSpendLimitError
from airflow_heygen.spend.account import Account
from airflow_heygen.spend.rates import RATES, Rate, rate_table

MIN_BALANCE_EXTRA = "min_balance_usd"


@dataclass(frozen=True)
class SpendSettings:
    """
    A connection's spend settings, from its extra.

    :param rates: the rate table with the extra's ``rates`` over HeyGen's figures.
    :param min_balance_usd: a create is refused when the account's remaining balance minus its
        estimate would fall below this (``min_balance_usd``), or None.
    """

    rates: Mapping[tuple[str, str], Rate] = field(default_factory=lambda: dict(RATES))
    min_balance_usd: float | None = None

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> SpendSettings:
        """
        The settings of a connection's extra.

        :param extra: the extra.
        :raises HeyGenInputError: naming the bad entry.
        """
        floor = extra.get(MIN_BALANCE_EXTRA)
        if isinstance(floor, str):
            try:
                floor = float(floor)
            except ValueError:
                floor = object()
        if floor is not None and (
            isinstance(floor, bool) or not isinstance(floor, (int, float)) or floor < 0
        ):
            raise HeyGenInputError(
                f"connection extra {MIN_BALANCE_EXTRA}", f"must be USD >= 0, got {floor!r}"
            )
        return cls(rates=rate_table(extra), min_balance_usd=None if floor is None else float(floor))


def check_spend(
    what: str,
    cost_usd: float | None,
    basis: str,
    *,
    max_cost_usd: float | None,
    min_balance_usd: float | None,
    account: Callable[[], Account],
) -> None:
    """
    Refuse, before anything is created, a spend over the task's cap or one that would take the
    account below the connection's floor. A limit that cannot be checked (an unknown estimate, an
    account without a USD balance) refuses too: a limit that does not hold is no limit.

    :param what: what is about to be created, in words (``1,000 campaign items``).
    :param cost_usd: its estimate, or None when unknown.
    :param basis: how the estimate was made.
    :param max_cost_usd: the task's cap, or None.
    :param min_balance_usd: the connection's floor, or None.
    :param account: reads the account (only when a floor is set).
    :raises HeyGenSpendLimitError: naming the estimate, its basis and the limit; nothing was created.
    """
    if max_cost_usd is None and min_balance_usd is None:
        return
    estimate = "unknown" if cost_usd is None else f"${cost_usd:,.2f}"
    if cost_usd is None:
        raise HeyGenSpendLimitError(
            f"Not creating {what}: its cost cannot be estimated ({basis}), so the spending limits "
            "cannot be held; set expected_seconds or the connection extra's rates. Nothing was created"
        )
    if max_cost_usd is not None and cost_usd > max_cost_usd:
        raise HeyGenSpendLimitError(
            f"Not creating {what}: the estimate {estimate} ({basis}) exceeds max_cost_usd "
            f"${max_cost_usd:,.2f}. Nothing was created"
        )
    if min_balance_usd is not None:
        remaining = account().remaining_usd
        if remaining is None:
            raise HeyGenSpendLimitError(
                f"Not creating {what}: the connection's min_balance_usd is ${min_balance_usd:,.2f} but the "
                "HeyGen account reports no balance in USD (credits), so the floor cannot be held. "
                "Nothing was created"
            )
        if remaining - cost_usd < min_balance_usd:
            raise HeyGenSpendLimitError(
                f"Not creating {what}: the estimate {estimate} ({basis}) would take the account's balance "
                f"from ${remaining:,.2f} to ${remaining - cost_usd:,.2f}, below min_balance_usd "
                f"${min_balance_usd:,.2f}. Nothing was created"
            )
