"""Addresses people type (a webhook's, a bot's repository): split, or refused with a message, never a 500."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from core.errors import Invalid


def split_url(url: str, field: str = "url") -> SplitResult:
    """`urlsplit(url)`, with its port read once; Invalid (naming `field`) where Python cannot read the address
    (an unclosed `[` of an IPv6 host, a port that is not a number between 0 and 65535)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- read here: a bad port raises ValueError on first access
    except ValueError as exc:
        raise Invalid(f"{field}: {url[:200]!r} is not a valid address ({exc}).", field=field) from None
    return parts
