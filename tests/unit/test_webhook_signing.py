from __future__ import annotations

import pytest

from reelforge.webhooks.signing import SignatureError, sign, verify


def test_signature_round_trip_and_tamper_and_replay() -> None:
    body = b'{"id":"vid_1","status":"succeeded"}'
    header = sign("whsec_abc", body, 1_700_000_000)
    assert verify("whsec_abc", header, body, now=1_700_000_010) == 1_700_000_000
    with pytest.raises(SignatureError):
        verify("whsec_abc", header, body + b" ", now=1_700_000_010)
    with pytest.raises(SignatureError):
        verify("whsec_other", header, body, now=1_700_000_010)
    with pytest.raises(SignatureError, match="tolerance"):
        verify("whsec_abc", header, body, now=1_700_000_000 + 3600)
    with pytest.raises(SignatureError):
        verify("whsec_abc", "garbage", body)


def test_signature_matches_the_documented_recipe() -> None:
    import hashlib
    import hmac

    body = b"{}"
    expected = hmac.new(b"s", b"42." + body, hashlib.sha256).hexdigest()
    assert sign("s", body, 42) == f"t=42,v1={expected}"
