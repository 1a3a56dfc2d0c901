"""core.urls: an address Python cannot read is refused with a message naming the field."""

from __future__ import annotations

import pytest

from core.errors import Invalid
from core.urls import split_url


@pytest.mark.parametrize("url", ["http://[", "https://[::1/x", "https://h:99999/x", "https://h:-1/x", "ssh://h:port/x"])
def test_an_address_python_cannot_read_is_invalid(url: str) -> None:
    with pytest.raises(Invalid) as err:
        split_url(url, field="callback")
    assert err.value.field == "callback" and "is not a valid address" in err.value.message


def test_a_readable_address_is_split() -> None:
    parts = split_url("https://[::1]:8443/hook?x=1")
    assert (parts.hostname, parts.port, parts.path) == ("::1", 8443, "/hook")
