"""A HeyGen account as ``GET /v3/users/me`` describes it, in each of its three billing shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Wallet:
    """
    A prepaid balance.

    :param currency: ``usd``, or ``credits`` (Enterprise).
    :param remaining_balance: what is left, in that currency.
    :param auto_reload: whether HeyGen tops the wallet up by itself.
    """

    currency: str
    remaining_balance: float | None
    auto_reload: bool = False


@dataclass(frozen=True)
class UsageBased:
    """
    Metered billing.

    :param included_credits: credits the plan includes.
    :param remaining_credits: credits left.
    :param spending_cap_usd: the account's own cap on metered spending, if set.
    :param spending_current_usd: what was spent in the period.
    """

    included_credits: float | None
    remaining_credits: float | None
    spending_cap_usd: float | None
    spending_current_usd: float | None


@dataclass(frozen=True)
class Subscription:
    """
    A plan's credit pools.

    :param plan: the plan, e.g. ``pro``.
    :param credits: pool name (``premium_credits``, ``add_on_credits``) -> credits remaining.
    """

    plan: str | None
    credits: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    """
    The account behind a key; any billing shape may be missing (null).

    :param username: the user's name.
    :param email: their email.
    :param billing_type: ``wallet``, ``subscription`` or ``usage_based``.
    :param wallet: the prepaid wallet.
    :param subscription: the subscription's credits.
    :param usage_based: the metered billing.
    """

    username: str | None
    email: str | None
    billing_type: str | None
    wallet: Wallet | None = None
    subscription: Subscription | None = None
    usage_based: UsageBased | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Account:
        """
        The account from the ``data`` of ``GET /v3/users/me``; wrongly typed fields read as missing.

        :param data: the answer's ``data``.
        """
        wallet = data.get("wallet")
        usage = data.get("usage_based")
        subscription = data.get("subscription")
        reload = wallet.get("auto_reload") if isinstance(wallet, Mapping) else None
        credits = subscription.get("credits") if isinstance(subscription, Mapping) else None
        return cls(
            username=data.get("username") if isinstance(data.get("username"), str) else None,
            email=data.get("email") if isinstance(data.get("email"), str) else None,
            billing_type=data.get("billing_type") if isinstance(data.get("billing_type"), str) else None,
            wallet=Wallet(
                currency=str(wallet.get("currency") or "usd"),
                remaining_balance=_number(wallet.get("remaining_balance")),
                auto_reload=bool(isinstance(reload, Mapping) and reload.get("enabled")),
            )
            if isinstance(wallet, Mapping)
            else None,
            subscription=Subscription(
                plan=subscription.get("plan") if isinstance(subscription.get("plan"), str) else None,
                credits={
                    str(name): float(pool["remaining"])
                    for name, pool in (credits.items() if isinstance(credits, Mapping) else ())
                    if isinstance(pool, Mapping) and _number(pool.get("remaining")) is not None
                },
            )
            if isinstance(subscription, Mapping)
            else None,
            usage_based=UsageBased(
                included_credits=_number(usage.get("included_credits")),
                remaining_credits=_number(usage.get("remaining_credits")),
                spending_cap_usd=_number(usage.get("spending_cap_usd")),
                spending_current_usd=_number(usage.get("spending_current_usd")),
            )
            if isinstance(usage, Mapping)
            else None,
        )

    @property
    def remaining_usd(self) -> float | None:
        """
        What may still be spent, in US dollars, where the account says it in dollars: a USD wallet's
        balance, or a metered account's cap minus its current spending. None for credits.
        """
        if (
            self.wallet is not None
            and self.wallet.currency == "usd"
            and self.wallet.remaining_balance is not None
        ):
            return self.wallet.remaining_balance
        usage = self.usage_based
        if usage is not None and usage.spending_cap_usd is not None:
            return usage.spending_cap_usd - (usage.spending_current_usd or 0.0)
        return None

    def text(self) -> str:
        """Who the account is and what is left on it, in a few words (for ``test_connection``)."""
        who = self.username or self.email or "unknown user"
        if self.wallet is not None and self.wallet.remaining_balance is not None:
            unit = "USD" if self.wallet.currency == "usd" else self.wallet.currency
            left = f"balance {self.wallet.remaining_balance:g} {unit}"
        elif self.usage_based is not None and self.usage_based.remaining_credits is not None:
            left = f"{self.usage_based.remaining_credits:g} credits remaining"
            if self.usage_based.spending_cap_usd is not None:
                left += f", {self.remaining_usd:.2f} USD under the spending cap"
        elif self.subscription is not None:
            pools = [
                f"{name.replace('_', ' ')} {value:g}" for name, value in self.subscription.credits.items()
            ]
            left = f"plan {self.subscription.plan}" + (f", {', '.join(pools)} remaining" if pools else "")
        else:
            left = "no balance reported"
        billing = f"{self.billing_type} billing, " if self.billing_type else ""
        return f"{who} ({billing}{left})"
