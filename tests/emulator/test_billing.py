"""
The account's money: ``GET /v3/users/me`` in each billing shape (against HeyGen's schema), creates
drawing the balance down by price x output seconds, 402 ``insufficient_credit`` naming the balance
and the amount, batches refused whole, replays free, the usage-based cap, subscription credits.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from airflow_heygen.emulator.billing import BillingType
from airflow_heygen.emulator.config import load_config
from airflow_heygen.emulator.output_seconds import OutputSeconds, media_seconds
from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.emulator.v3.fields import MediaContext
from airflow_heygen.emulator.v3.validation import parse_video
from tests.emulator.conftest import faceswap_body, submit
from tests.emulator.v3_contract import (
    V3Client,
    avatar_video,
    lipsync_body,
    operation,
    translation_body,
    wait_v3,
)
from tests.emulator.workflows_contract import WorkflowsClient

ME = "/v3/users/me"
# The stub sample clip's length: every stub job reports it as its duration.
CLIP_SECONDS = 3.023


@pytest.fixture
def emulator(stub_emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The module's stub emulator with a fresh $1000 wallet, no faults and zeroed stats."""
    stub_emulator.set_faults(billing="wallet", balance_usd=1000, faceswap_rate_usd_per_s=0.05)
    stub_emulator.reset_stats()
    yield stub_emulator
    stub_emulator.set_faults(billing="wallet", balance_usd=1000, insufficient_credit_rate=0)


@pytest.fixture
def client(emulator: EmulatorHandle) -> V3Client:
    return V3Client(emulator)


def created(handle: EmulatorHandle) -> dict[str, int]:
    return dict(handle.stats()["jobs_created"])


@pytest.mark.parametrize("billing", [t.value for t in BillingType])
def test_users_me_validates_in_each_billing_shape(client: V3Client, billing: str) -> None:
    client.handle.set_faults(billing=billing, balance_usd=250)
    data = client.ok("GET", ME)  # checked against the response schema by the client
    jsonschema.validate({"data": data}, operation("GET", ME).response_schema or {})
    assert data["billing_type"] == billing
    shapes = ("wallet", "subscription", "usage_based")
    assert [name for name in shapes if data[name] is not None] == [billing]
    schema = operation("GET", ME).response_schema or {}
    allowed = schema["properties"]["data"]["properties"]
    assert set(data) <= set(allowed)
    shape = allowed[billing]["anyOf"][1]["properties"]
    assert set(data[billing]) <= set(shape), data[billing]
    if billing == "wallet":
        assert data["wallet"]["currency"] == "usd"
        assert data["wallet"]["remaining_balance"] == 250
    elif billing == "subscription":
        assert data["subscription"]["credits"]["premium_credits"]["remaining"] == 250
    else:
        assert data["usage_based"]["spending_cap_usd"] == 250
        assert data["usage_based"]["spending_current_usd"] == 0


def _drawn(handle: EmulatorHandle, create: Any) -> tuple[float, float]:
    """Run a create; the dollars it took from the wallet and its job's reported duration."""
    before = handle.stats()["balance_usd"]
    duration = create()
    after = handle.stats()
    assert after["spent_usd"] == pytest.approx(before - after["balance_usd"], abs=1e-6)
    return before - after["balance_usd"], duration


@pytest.mark.parametrize(
    ("resource", "rate"),
    [
        ("video", 0.0667),
        ("lipsync_speed", 0.0333),
        ("lipsync_precision", 0.0667),
        ("translation_speed", 0.0167),
        ("translation_precision", 0.0667),
    ],
)
def test_wallet_drawn_down_by_price_times_duration(client: V3Client, resource: str, rate: float) -> None:
    handle = client.handle

    def create() -> float:
        if resource == "video":
            job_id = client.ok("POST", "/v3/videos", avatar_video(handle))["video_id"]
            return float(wait_v3(client, "videos", job_id)["duration"])
        mode = resource.rpartition("_")[2]
        if resource.startswith("lipsync"):
            job_id = client.ok("POST", "/v3/lipsyncs", lipsync_body(handle, mode=mode))["lipsync_id"]
            return float(wait_v3(client, "lipsyncs", job_id)["duration"])
        body = translation_body(handle, ["fr"], mode=mode)
        job_id = client.ok("POST", "/v3/video-translations", body)["video_translation_ids"][0]
        return float(wait_v3(client, "video-translations", job_id)["duration"])

    drawn, duration = _drawn(handle, create)
    assert drawn == pytest.approx(rate * duration, rel=0.02)
    me = client.ok("GET", ME)
    assert me["wallet"]["remaining_balance"] == pytest.approx(1000 - drawn, abs=1e-3)


def test_workflow_face_swap_drawn_down_by_its_rate(emulator: EmulatorHandle) -> None:
    emulator.set_faults(faceswap_rate_usd_per_s=0.1)
    answer = WorkflowsClient(emulator).submit(faceswap_body(emulator))
    assert answer.status == 200
    assert emulator.stats()["spent_usd"] == pytest.approx(0.1 * CLIP_SECONDS, rel=0.02)


def test_402_names_balance_and_amount_and_creates_nothing(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(balance_usd=0.15)
    before = created(handle)
    status, error = client.error("POST", "/v3/videos", avatar_video(handle))
    assert status == 402
    assert error["code"] == "insufficient_credit"
    assert error["message"] == "Insufficient credit: balance $0.15, this video needs $0.20"
    # HeyGen's workflows description has no 402 answer: the envelope is its StandardAPIError.
    status, answer = submit(handle, faceswap_body(handle))
    assert status == 402
    assert set(answer) == {"data", "error"}
    assert set(answer["error"]) == {"code", "message", "param", "doc_url"}
    assert answer["error"]["code"] == "insufficient_credit"
    assert answer["error"]["message"] == "Insufficient credit: balance $0.15, this face swap needs $0.15"
    stats = handle.stats()
    assert stats["jobs_created"] == before
    assert stats["spent_usd"] == 0
    assert stats["balance_usd"] == 0.15
    assert stats["billing"]["refused"] == 2
    assert stats["faults"]["insufficient_credit"] == 0  # a real refusal, not an injected fault


def test_a_batch_the_balance_cannot_pay_whole_is_refused_whole(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(balance_usd=0.5)  # two videos of $0.20, not three
    before = handle.stats()
    items = [avatar_video(handle, title=f"v{n}") for n in range(3)]
    status, error = client.error("POST", "/v3/videos/batches", {"videos": items})
    assert status == 402
    assert error["code"] == "insufficient_credit"
    assert error["message"] == "Insufficient credit: balance $0.50, this batch needs $0.60"
    after = handle.stats()
    assert after["jobs_created"] == before["jobs_created"]
    assert after["batches_created"] == before["batches_created"]
    assert after["balance_usd"] == 0.5
    data = client.ok("POST", "/v3/videos/batches", {"videos": items[:2]})
    assert len(data["items"]) == 2
    assert handle.stats()["balance_usd"] == pytest.approx(0.5 - 2 * 0.0667 * CLIP_SECONDS, rel=0.02)


def test_idempotent_replays_are_not_charged(client: V3Client) -> None:
    handle = client.handle
    key = {"Idempotency-Key": "billing-replay-1"}
    first = client.ok("POST", "/v3/videos", avatar_video(handle), headers=key)
    spent = handle.stats()["spent_usd"]
    assert spent == pytest.approx(0.0667 * CLIP_SECONDS, rel=0.02)
    again = client.ok("POST", "/v3/videos", avatar_video(handle), headers=key)
    assert again == first
    stats = handle.stats()
    assert stats["spent_usd"] == spent
    assert stats["idempotent_replays"]["video"] == 1
    assert stats["jobs_created"]["video"] == 1


def test_a_refused_create_can_be_retried_with_its_key_once_paid(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(balance_usd=0.1)
    key = {"Idempotency-Key": "billing-topped-up"}
    assert client.error("POST", "/v3/videos", avatar_video(handle), headers=key)[0] == 402
    handle.set_faults(balance_usd=10)
    client.ok("POST", "/v3/videos", avatar_video(handle), headers=key)
    assert handle.stats()["jobs_created"]["video"] == 1


def test_usage_based_spending_stops_at_the_cap(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(billing="usage_based", balance_usd=0.5)
    for _ in range(2):
        client.ok("POST", "/v3/videos", avatar_video(handle))
    usage = client.ok("GET", ME)["usage_based"]
    assert usage["spending_cap_usd"] == 0.5
    assert usage["spending_current_usd"] == pytest.approx(2 * 0.0667 * CLIP_SECONDS, rel=0.02)
    status, error = client.error("POST", "/v3/videos", avatar_video(handle))
    assert status == 402
    assert error["message"] == (
        "Insufficient credit: balance $0.10 under the spending cap of $0.50, this video needs $0.20"
    )
    stats = handle.stats()
    assert stats["jobs_created"]["video"] == 2
    assert stats["balance_usd"] == pytest.approx(0.5 - usage["spending_current_usd"], abs=1e-4)


def test_subscription_spends_a_credit_per_started_minute(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(billing="subscription", balance_usd=2)
    client.ok("POST", "/v3/videos", avatar_video(handle))
    client.ok("POST", "/v3/lipsyncs", lipsync_body(handle))
    credits = client.ok("GET", ME)["subscription"]["credits"]
    assert credits["premium_credits"]["remaining"] == 0
    status, error = client.error("POST", "/v3/videos", avatar_video(handle))
    assert status == 402
    assert error["message"] == "Insufficient credit: balance 0 credits, this video needs 1 credits"
    billing = handle.stats()["billing"]
    assert billing["credits_spent"] == 2
    assert billing["balance_credits"] == 0
    assert handle.stats()["balance_usd"] is None


def test_settings_at_runtime_and_reset(emulator: EmulatorHandle) -> None:
    faults = emulator.faults()
    assert faults["billing"] == "wallet"
    assert faults["balance_usd"] == 1000
    assert faults["faceswap_rate_usd_per_s"] == 0.05
    status, answer = emulator.request("POST", "/_admin/faults", {"billing": "prepaid", "fail_rate": 0.5})
    assert status == 400
    assert "billing must be one of" in answer["error"]["message"]
    assert emulator.faults()["fail_rate"] == 0  # nothing changed
    V3Client(emulator).ok("POST", "/v3/videos", avatar_video(emulator))
    spent = emulator.stats()["spent_usd"]
    assert spent > 0
    stats = emulator.reset_stats()
    assert stats["spent_usd"] == 0
    assert stats["balance_usd"] == pytest.approx(1000 - spent, abs=1e-4)


def test_flags_and_environment() -> None:
    config = load_config(["--billing", "usage_based", "--balance-usd", "5"], {})
    assert config.billing.billing is BillingType.USAGE_BASED
    assert config.billing.balance_usd == 5
    env = {"HEYGEN_EMULATOR_BILLING": "subscription", "HEYGEN_EMULATOR_FACESWAP_RATE_USD_PER_S": "0.2"}
    config = load_config([], env)
    assert config.billing.billing is BillingType.SUBSCRIPTION
    assert config.billing.faceswap_rate_usd_per_s == 0.2
    with pytest.raises(SystemExit):
        load_config([], {"HEYGEN_EMULATOR_BILLING": "prepaid"})


def test_mp3_sample_is_served_with_range(emulator: EmulatorHandle) -> None:
    url = emulator.sample_url("speech.mp3")
    request = urllib.request.Request(url, headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 206
        assert response.headers["Content-Range"].startswith("bytes 0-99/")
        head = response.read()
    assert len(head) == 100
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers.get_content_type() == "audio/mpeg"
        whole = response.read()
    assert whole[:100] == head
    assert b"Info" in whole[:4096]  # LAME's CBR header
    path = emulator.data_dir / "samples" / "speech.mp3"
    assert media_seconds(path) == pytest.approx(3.0, rel=0.02)


def test_real_renders_are_priced_by_their_media(emulator: EmulatorHandle) -> None:
    data_dir = emulator.data_dir.resolve()
    seconds = OutputSeconds(data_dir, CLIP_SECONDS, stub=False)
    context = MediaContext(data_dir, None)  # type: ignore[arg-type]

    def video(**extra: Any) -> Any:
        body = {"type": "image", "image": {"type": "url", "url": emulator.sample_url("face.jpg")}, **extra}
        return parse_video(body, context)

    local = str(data_dir / "samples" / "speech.mp3")
    mp3 = asyncio.run(seconds.v3_price(video(audio_url=emulator.sample_url("speech.mp3"))))
    assert mp3.seconds == pytest.approx(3.0, rel=0.02)
    assert mp3.usd == pytest.approx(0.05 * 3.0, rel=0.02)
    assert asyncio.run(seconds.media(local, "audio")) == pytest.approx(3.0, rel=0.02)
    script = asyncio.run(seconds.v3_price(video(script="one two three four five", voice_id="v")))
    assert script.seconds == pytest.approx(2.5)
    unknown = asyncio.run(seconds.media("https://media.example.com/a.mp3", "audio"))
    assert unknown == CLIP_SECONDS
