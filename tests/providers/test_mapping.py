"""The mapping layer, per provider: reelforge's request → the provider's parameters (pure, run
at submit), and the refusals that name what a model supports."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from reelforge.backends.providers.kling import PROVIDER as KLING
from reelforge.backends.providers.kling import jwt_hs256
from reelforge.backends.providers.luma import PROVIDER as LUMA
from reelforge.backends.providers.runway import PROVIDER as RUNWAY
from reelforge.domain.spec import JobSpec
from reelforge.errors import CapabilityMissing, InvalidRequest


def spec(**fields: object) -> JobSpec:
    return JobSpec.model_validate({"mode": "text2video", "prompt": "a cat", "model": "x", **fields})


def test_kling_mapping() -> None:
    t2v = KLING.build(spec(duration=10, resolution="1080p", aspect_ratio="1:1"), "kling-v2-1")
    assert t2v == {
        "model_name": "kling-v2-1",
        "prompt": "a cat",
        "mode": "pro",
        "duration": "10",
        "aspect_ratio": "1:1",
    }
    moved = KLING.build(spec(duration=5, camera="zoom_in", negative_prompt="rain"), "kling-v1-6")
    assert moved["camera_control"] == {"type": "simple", "config": {"zoom": 5}}
    assert moved["negative_prompt"] == "rain" and moved["mode"] == "std"
    i2v = KLING.build(spec(mode="image2video", images=["k"], duration=5), "kling-v2-1")
    assert "aspect_ratio" not in i2v  # the image's shape
    with pytest.raises(InvalidRequest, match="pro mode only"):
        KLING.build(spec(mode="first_last_frame", images=["a", "b"], duration=5), "kling-v2-1")
    with pytest.raises(CapabilityMissing, match="does not do extend"):
        KLING.build(spec(mode="extend", images=["a"], extends="j", duration=5), "kling-v2-1")
    with pytest.raises(InvalidRequest, match="one of kling-v1-6"):
        KLING.capabilities("kling-v9")


def test_kling_jwt_is_hs256_signed_with_the_secret_key() -> None:
    token = jwt_hs256("AK", "SK", now=1_000_000)
    head, payload, signature = token.split(".")

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    assert json.loads(unb64(head)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(unb64(payload)) == {"iss": "AK", "exp": 1_001_800, "nbf": 999_995}
    expected = hmac.new(b"SK", f"{head}.{payload}".encode(), hashlib.sha256).digest()
    assert unb64(signature) == expected


def test_runway_mapping() -> None:
    body = RUNWAY.build(spec(duration=10, aspect_ratio="4:3", seed=9), "gen4.5")
    assert body == {
        "model": "gen4.5",
        "ratio": "1104:832",
        "duration": 10,
        "seed": 9,
        "promptText": "a cat",
    }
    veo = RUNWAY.build(spec(duration=8, aspect_ratio="9:16"), "veo3")
    assert veo["ratio"] == "720:1280" and veo["duration"] == 8
    with pytest.raises(InvalidRequest, match="8 seconds"):
        RUNWAY.build(spec(duration=5), "veo3")
    with pytest.raises(InvalidRequest, match="16:9, 9:16"):
        RUNWAY.build(spec(mode="image2video", images=["a"], aspect_ratio="1:1"), "gen3a_turbo")
    headers = RUNWAY.auth_headers({"provider_runway_api_key": "k"})
    assert headers == {"Authorization": "Bearer k", "X-Runway-Version": "2024-11-06"}


def test_luma_mapping() -> None:
    body = LUMA.build(spec(duration=9, resolution="1080p", aspect_ratio="9:16"), "ray-2")
    assert body == {
        "model": "ray-2",
        "prompt": "a cat",
        "aspect_ratio": "9:16",
        "duration": "9s",
        "resolution": "1080p",
    }
    assert LUMA.build(spec(duration=5, resolution="480p"), "ray-flash-2")["resolution"] == "540p"
    with pytest.raises(InvalidRequest, match="no negative prompt"):
        LUMA.build(spec(duration=5, negative_prompt="x"), "ray-2")
