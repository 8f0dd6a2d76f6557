"""The account's three billing shapes, the rate table and its override, and the limits' refusals."""

from __future__ import annotations

import pytest

from airflow_heygen.exceptions import HeyGenInputError, HeyGenSpendLimitError
from airflow_heygen.spend.account import Account
from airflow_heygen.spend.estimate import estimate
from airflow_heygen.spend.limits import SpendSettings, check_spend
from airflow_heygen.spend.rates import RATES, rate_table

WALLET = {
    "username": "ada",
    "email": "ada@example.com",
    "billing_type": "wallet",
    "wallet": {"currency": "usd", "remaining_balance": 12.5, "auto_reload": {"enabled": True}},
    "subscription": None,
    "usage_based": None,
}
USAGE = {
    "username": "bo",
    "billing_type": "usage_based",
    "usage_based": {
        "included_credits": 100,
        "remaining_credits": 40,
        "spending_cap_usd": 50,
        "spending_current_usd": 20.25,
    },
}
SUBSCRIPTION = {
    "username": "cy",
    "billing_type": "subscription",
    "subscription": {
        "plan": "pro",
        "credits": {"premium_credits": {"remaining": 30}, "add_on_credits": None},
    },
}


def test_each_billing_shape_is_read_and_says_what_is_left() -> None:
    wallet, usage, subscription = (Account.from_data(d) for d in (WALLET, USAGE, SUBSCRIPTION))
    assert wallet.remaining_usd == 12.5 and wallet.wallet is not None and wallet.wallet.auto_reload
    assert wallet.text() == "ada (wallet billing, balance 12.5 USD)"
    assert usage.remaining_usd == pytest.approx(29.75)
    assert "40 credits remaining, 29.75 USD under the spending cap" in usage.text()
    assert subscription.remaining_usd is None and subscription.subscription is not None
    assert subscription.subscription.credits == {"premium_credits": 30.0}
    assert "plan pro, premium credits 30 remaining" in subscription.text()


def test_null_and_wrongly_typed_fields_read_as_missing() -> None:
    account = Account.from_data(
        {"username": None, "wallet": {"currency": "credits", "remaining_balance": "x"}}
    )
    assert account.remaining_usd is None and account.text() == "unknown user (no balance reported)"


def test_the_extra_s_rates_override_and_add_to_the_table() -> None:
    table = rate_table({"rates": {"workflow.FaceswapNode": 0.02, "video.avatar": {"per_video": 1.5}}})
    assert table[("workflow", "FaceswapNode")].per_second == 0.02
    assert table[("video", "avatar")].cost(300) == 1.5
    assert table[("lipsync", "speed")] == RATES[("lipsync", "speed")]
    with pytest.raises(HeyGenInputError, match=r"rates\.video:"):
        rate_table({"rates": {"video": 1}})
    with pytest.raises(HeyGenInputError, match=r"rates\.video\.avatar"):
        rate_table({"rates": {"video.avatar": -1}})


def test_face_swap_without_a_rate_is_unknown_and_says_how_to_price_it() -> None:
    guess = estimate("workflow", {"workflow_type": "FaceswapNode", "input": {}}, RATES, lambda _: 10.0)
    assert guess.cost_usd is None
    assert "set the connection extra rates.workflow.FaceswapNode" in guess.basis


def test_a_script_is_timed_by_its_words() -> None:
    body = {"type": "avatar", "script": " ".join(["word"] * 75)}
    guess = estimate("video", body, RATES, lambda _: None)
    assert guess.seconds == 30.0 and guess.cost_usd == pytest.approx(30 * 0.0667)


def test_limits_refuse_with_the_estimate_its_basis_and_the_limit() -> None:
    account = lambda: Account.from_data(WALLET)  # noqa: E731
    check_spend("x", 5.0, "basis", max_cost_usd=None, min_balance_usd=None, account=account)
    with pytest.raises(HeyGenSpendLimitError, match=r"estimate \$5.00 \(basis\) exceeds max_cost_usd \$4.00"):
        check_spend("x", 5.0, "basis", max_cost_usd=4.0, min_balance_usd=None, account=account)
    with pytest.raises(HeyGenSpendLimitError, match=r"from \$12.50 to \$7.50, below min_balance_usd \$10.00"):
        check_spend("x", 5.0, "basis", max_cost_usd=None, min_balance_usd=10.0, account=account)
    with pytest.raises(HeyGenSpendLimitError, match="cannot be estimated"):
        check_spend("x", None, "no rate", max_cost_usd=4.0, min_balance_usd=None, account=account)
    credits = lambda: Account.from_data(SUBSCRIPTION)  # noqa: E731
    with pytest.raises(HeyGenSpendLimitError, match="reports no balance in USD"):
        check_spend("x", 1.0, "b", max_cost_usd=None, min_balance_usd=1.0, account=credits)


def test_the_floor_comes_from_the_connection_extra() -> None:
    assert SpendSettings.from_extra({"min_balance_usd": "25"}).min_balance_usd == 25.0
    with pytest.raises(HeyGenInputError, match="min_balance_usd"):
        SpendSettings.from_extra({"min_balance_usd": "lots"})
