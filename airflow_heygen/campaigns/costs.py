"""
What a campaign will cost and did cost: every item's estimate (checked against the limits before the
first create), and each finished item's cost by the rate table. The media durations an estimate read
are kept in ``task_state_store`` so that later steps estimate again without reading anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_heygen.campaigns.items import CampaignKind, Item
from airflow_heygen.spend.account import Account
from airflow_heygen.spend.estimate import Estimate, estimate, seconds_over_http
from airflow_heygen.spend.limits import SpendSettings, check_spend

DURATIONS_KEY = "heygen_campaign.durations"


class CampaignCosts:
    """
    The items' estimates.

    :param kind: what the campaign creates.
    :param items: its items.
    :param spend: the connection's rates and floor.
    :param durations: media URL -> seconds, as read before.
    :param expected_seconds: the user's expected output seconds per item, if given.
    """

    def __init__(
        self,
        kind: CampaignKind,
        items: Sequence[Item],
        spend: SpendSettings,
        durations: Mapping[str, float | None],
        expected_seconds: float | None,
    ) -> None:
        self.kind = kind
        self.spend = spend
        self.durations = dict(durations)
        self.estimates: dict[str, Estimate] = {
            item.item_id: estimate(
                kind.row.name, item.body, spend.rates, self.durations.get, expected_seconds
            )
            for item in items
        }

    @classmethod
    def measured(
        cls,
        kind: CampaignKind,
        items: Sequence[Item],
        spend: SpendSettings,
        expected_seconds: float | None,
    ) -> CampaignCosts:
        """The estimates, reading each distinct media URL's duration once (a few ranged requests)."""
        read: dict[str, float | None] = {}

        def seconds_of(url: str) -> float | None:
            if url not in read:
                read[url] = seconds_over_http(url)
            return read[url]

        for item in items:
            estimate(kind.row.name, item.body, spend.rates, seconds_of, expected_seconds)
        return cls(kind, items, spend, read, expected_seconds)

    @classmethod
    def for_step(
        cls,
        kind: CampaignKind,
        items: Sequence[Item],
        spend: SpendSettings,
        store: Any,
        *,
        first: bool,
        max_cost_usd: float | None,
        expected_seconds: float | None,
        account: Callable[[], Account],
        log: Any,
    ) -> CampaignCosts:
        """
        The estimates of a campaign step. At the campaign's first step they are made (media read only
        where a limit needs the figure), logged and checked against the limits (raising before any
        create), and the durations read are stored; later steps use the stored durations.

        :param kind: what the campaign creates.
        :param items: its items.
        :param spend: the connection's rates and floor.
        :param store: the task's ``task_state_store``.
        :param first: whether this is the campaign's first step.
        :param max_cost_usd: the campaign's cap.
        :param expected_seconds: the user's expected seconds per item.
        :param account: reads the account (for the floor).
        :param log: the task's logger.
        """
        if not first:
            stored = store.get(DURATIONS_KEY)
            durations = {str(k): v for k, v in stored.items()} if isinstance(stored, Mapping) else {}
            return cls(kind, items, spend, durations, expected_seconds)
        if max_cost_usd is not None or spend.min_balance_usd is not None:
            costs = cls.measured(kind, items, spend, expected_seconds)
        else:
            costs = cls(kind, items, spend, {}, expected_seconds)
        total = costs.total
        log.info(
            "Estimated HeyGen cost: %s (%s)", "unknown" if total is None else f"${total:,.2f}", costs.basis()
        )
        costs.check(max_cost_usd, account)
        store.set(DURATIONS_KEY, costs.durations)
        return costs

    def forget(self, store: Any) -> None:
        """Forget the stored durations (the campaign ended)."""
        store.delete(DURATIONS_KEY)

    def item(self, item_id: str) -> float | None:
        """One item's estimate in US dollars."""
        cost = self.estimates[item_id].cost_usd
        return None if cost is None else round(cost, 4)

    def rate(self, item_id: str) -> str | None:
        """The rate an item is priced at, in words (``$0.0667/s``), or None where there is none."""
        rate = self.estimates[item_id].rate
        return None if rate is None else rate.text()

    @property
    def total(self) -> float | None:
        """The whole campaign's estimate; None when any item's is unknown."""
        costs = [e.cost_usd for e in self.estimates.values()]
        return None if None in costs else round(sum(c for c in costs if c is not None), 4)

    def basis(self) -> str:
        """The estimate's basis, per item (the first item's, as an example)."""
        first = next(iter(self.estimates.values()))
        return f"{len(self.estimates)} items; per item, e.g. {first.text()}"

    def check(self, max_cost_usd: float | None, account: Callable[[], Account]) -> None:
        """Refuse, before the first create, a campaign over its cap or the connection's floor."""
        check_spend(
            f"a campaign of {len(self.estimates)} items",
            self.total,
            self.basis(),
            max_cost_usd=max_cost_usd,
            min_balance_usd=self.spend.min_balance_usd,
            account=account,
        )
