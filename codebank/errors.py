"""The code bank's own errors, on top of the shared hierarchy in `core.errors`."""

from __future__ import annotations


class GitError(Exception):
    """git failed in a way that is not the caller's fault (network, disk, timeout)."""
