"""
The account's money: its billing shape (``GET /v3/users/me``), the balance creates draw down, and
the 402 ``insufficient_credit`` a create that cannot be paid gets.

Every shape starts from ``balance_usd``: a wallet holds it, a usage-based account has it as its
spending cap, a subscription has as many premium credits (1 credit per started output minute of a
job). The ledger lives in memory: a restart starts from the settings again.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_heygen.emulator.prices import DEFAULT_FACESWAP_RATE_USD_PER_S, Price
from airflow_heygen.emulator.setting_changes import current_values

DEFAULT_BALANCE_USD = 1000.0
SUBSCRIPTION_PLAN = "pro"
# Subscription credits renew monthly; resets_at shows the next renewal 30 days from start.
_RENEWAL_SECONDS = 30 * 24 * 3600
# Charges are compared in dollars: a float sum must not refuse a create that exactly fits.
_EPSILON = 1e-9
PROFILE = {
    "username": "emulator",
    "email": "emulator@heygen-emulator.invalid",
    "first_name": "HeyGen",
    "last_name": "Emulator",
}


class BillingType(str, enum.Enum):
    """HeyGen's billing shapes (``billing_type`` of ``GET /v3/users/me``)."""

    WALLET = "wallet"
    SUBSCRIPTION = "subscription"
    USAGE_BASED = "usage_based"


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a non-negative number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return number


def _billing_type(value: object) -> BillingType:
    if isinstance(value, BillingType):
        return value
    try:
        return BillingType(value.strip() if isinstance(value, str) else value)
    except ValueError:
        allowed = ", ".join(t.value for t in BillingType)
        raise ValueError(f"billing must be one of {allowed}, got {value!r}") from None


@dataclass(frozen=True)
class BillingSettings:
    """
    How the account is billed.

    :param billing: the billing shape.
    :param balance_usd: the money it starts with (a subscription: that many premium credits).
    :param faceswap_rate_usd_per_s: price per output second of face swaps and other workflows
        (HeyGen does not publish one).
    """

    billing: BillingType = BillingType.WALLET
    balance_usd: float = DEFAULT_BALANCE_USD
    faceswap_rate_usd_per_s: float = DEFAULT_FACESWAP_RATE_USD_PER_S

    def __post_init__(self) -> None:
        _billing_type(self.billing)
        _non_negative(self.balance_usd, "balance_usd")
        _non_negative(self.faceswap_rate_usd_per_s, "faceswap_rate_usd_per_s")

    def updated(self, changes: Mapping[str, Any]) -> BillingSettings:
        """
        A copy with some fields changed (JSON values, or text from the environment).

        :param changes: any of :data:`BILLING_FIELDS`.
        :raises ValueError: on an unknown field or an invalid value.
        """
        values = current_values(self, BILLING_FIELDS, changes, "billing")
        for name, value in changes.items():
            values[name] = _billing_type(value) if name == "billing" else _non_negative(value, name)
        return BillingSettings(**values)

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON values."""
        return {
            "billing": self.billing.value,
            "balance_usd": self.balance_usd,
            "faceswap_rate_usd_per_s": self.faceswap_rate_usd_per_s,
        }


BILLING_FIELDS = ("billing", "balance_usd", "faceswap_rate_usd_per_s")


class InsufficientCredit(Exception):
    """A create the account cannot pay; the message is HeyGen's 402 text."""


@dataclass(frozen=True)
class Charge:
    """
    What one create took from the account (given back if the create then fails).

    :param usd: dollars charged.
    :param credits: subscription credits taken, per pool (premium, add-on).
    """

    usd: float
    credits: tuple[int, int] = (0, 0)


def credits_for(price: Price) -> int:
    """
    Subscription credits of one job: 1 per started output minute, at least 1.

    :param price: the job's price (its seconds count).
    """
    return max(1, math.ceil(price.seconds / 60 - _EPSILON))


class Account:
    """
    The ledger: what is left and what was spent. Charging never awaits, so two concurrent creates
    cannot both spend the same money.

    :param settings: the starting settings.
    """

    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings
        self._spent_usd = 0.0
        self._credits_spent = 0
        self._refusals = 0
        self._resets_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + _RENEWAL_SECONDS))
        self._fill()

    def _fill(self) -> None:
        """Start the money over from the settings."""
        self._remaining_usd = self._settings.balance_usd
        self._spending_current_usd = 0.0
        self._premium = int(self._settings.balance_usd)
        self._add_on = 0

    @property
    def settings(self) -> BillingSettings:
        """The current settings."""
        return self._settings

    def check(self, changes: Mapping[str, Any]) -> BillingSettings:
        """
        The settings some changes would give, without applying them.

        :param changes: billing fields.
        :raises ValueError: on an unknown field or an invalid value.
        """
        return self._settings.updated(changes)

    def apply(self, settings: BillingSettings, refill: bool) -> None:
        """
        Use new settings.

        :param settings: from :meth:`check`.
        :param refill: start the money over from them (``billing`` or ``balance_usd`` was set, even
            to its current value: setting the balance is how a test tops it up or drains it).
        """
        self._settings = settings
        if refill:
            self._fill()

    def _short(self, usd: float, credits: int, what: str) -> str | None:
        """The 402 message when the account cannot pay, else None."""
        billing = self._settings.billing
        if billing is BillingType.SUBSCRIPTION:
            credits_left = self._premium + self._add_on
            if credits <= credits_left:
                return None
            return f"Insufficient credit: balance {credits_left} credits, this {what} needs {credits} credits"
        if billing is BillingType.USAGE_BASED:
            left = self._settings.balance_usd - self._spending_current_usd
            if usd <= left + _EPSILON:
                return None
            return (
                f"Insufficient credit: balance ${max(left, 0.0):.2f} under the spending cap of "
                f"${self._settings.balance_usd:.2f}, this {what} needs ${usd:.2f}"
            )
        if usd <= self._remaining_usd + _EPSILON:
            return None
        balance = max(self._remaining_usd, 0.0)
        return f"Insufficient credit: balance ${balance:.2f}, this {what} needs ${usd:.2f}"

    def charge(self, prices: Sequence[Price], what: str) -> Charge:
        """
        Take the price of every job of one create at once, or nothing.

        :param prices: one per job the create makes.
        :param what: what the message calls the create (``video``, ``batch``, ``face swap``).
        :raises InsufficientCredit: when the account cannot pay them all (nothing is taken).
        """
        usd = sum(price.usd for price in prices)
        credits = sum(credits_for(price) for price in prices)
        refusal = self._short(usd, credits, what)
        if refusal is not None:
            self._refusals += 1
            raise InsufficientCredit(refusal)
        taken = (0, 0)
        billing = self._settings.billing
        if billing is BillingType.SUBSCRIPTION:
            # Premium credits go first, as HeyGen spends the plan's own pool before add-ons.
            premium = min(credits, self._premium)
            taken = (premium, credits - premium)
            self._premium -= taken[0]
            self._add_on -= taken[1]
            self._credits_spent += credits
        elif billing is BillingType.USAGE_BASED:
            self._spending_current_usd += usd
        else:
            self._remaining_usd -= usd
        self._spent_usd += usd
        return Charge(usd, taken)

    def refund(self, charge: Charge) -> None:
        """
        Give back a charge whose create did not happen after all.

        :param charge: what :meth:`charge` returned.
        """
        billing = self._settings.billing
        if billing is BillingType.SUBSCRIPTION:
            self._premium += charge.credits[0]
            self._add_on += charge.credits[1]
            self._credits_spent -= sum(charge.credits)
        elif billing is BillingType.USAGE_BASED:
            self._spending_current_usd -= charge.usd
        else:
            self._remaining_usd += charge.usd
        self._spent_usd -= charge.usd

    def reset_spent(self) -> None:
        """Zero what was spent and refused (``POST /_admin/reset-stats``); the balance stays."""
        self._spent_usd = 0.0
        self._credits_spent = 0
        self._refusals = 0

    def users_me(self) -> dict[str, Any]:
        """The ``data`` of ``GET /v3/users/me``: the profile and exactly one billing shape."""
        billing = self._settings.billing
        data: dict[str, Any] = {
            **PROFILE,
            "billing_type": billing.value,
            "wallet": None,
            "subscription": None,
            "usage_based": None,
        }
        if billing is BillingType.WALLET:
            data["wallet"] = {
                "currency": "usd",
                "remaining_balance": round(self._remaining_usd, 4),
                "auto_reload": {"enabled": False, "threshold_usd": None, "amount_usd": None},
            }
        elif billing is BillingType.SUBSCRIPTION:
            data["subscription"] = {
                "plan": SUBSCRIPTION_PLAN,
                "credits": {
                    "premium_credits": {"remaining": self._premium, "resets_at": self._resets_at},
                    "add_on_credits": {"remaining": self._add_on, "resets_at": None},
                },
            }
        else:
            data["usage_based"] = {
                "included_credits": 0,
                "remaining_credits": 0,
                "spending_cap_usd": self._settings.balance_usd,
                "spending_current_usd": round(self._spending_current_usd, 4),
            }
        return data

    def balance_usd(self) -> float | None:
        """Dollars left: a wallet's balance, a usage-based account's cap minus its spending, or None."""
        billing = self._settings.billing
        if billing is BillingType.WALLET:
            return round(self._remaining_usd, 4)
        if billing is BillingType.USAGE_BASED:
            return round(self._settings.balance_usd - self._spending_current_usd, 4)
        return None

    def to_json(self) -> dict[str, Any]:
        """What ``GET /_admin/stats`` shows under ``billing``."""
        subscription = self._settings.billing is BillingType.SUBSCRIPTION
        return {
            "billing_type": self._settings.billing.value,
            "spent_usd": round(self._spent_usd, 4),
            "balance_usd": self.balance_usd(),
            "credits_spent": self._credits_spent,
            "balance_credits": self._premium + self._add_on if subscription else None,
            "refused": self._refusals,
        }
