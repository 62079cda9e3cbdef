from __future__ import annotations

import pytest

from reelforge.errors import UnsafeCallbackUrl
from reelforge.net.callbacks import check_callback_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/",
        "http://172.16.5.5/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "gopher://example.com/",
        "http:///nohost",
        "http://user:pw@93.184.215.14/",
        "http://224.0.0.1/",
        "not a url",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(url)


def test_public_ip_literal_is_accepted() -> None:
    assert check_callback_url("https://93.184.215.14/hook") == "https://93.184.215.14/hook"


def test_operator_allowlist_by_host_or_network() -> None:
    assert check_callback_url("http://localhost:9/x", ["localhost"])
    assert check_callback_url("http://10.1.2.3/x", ["10.0.0.0/8"])
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url("http://10.1.2.3/x", ["192.168.0.0/16"])
