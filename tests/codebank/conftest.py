"""Code bank fixtures: the code bank's settings (local repositories allowed, a webhook secret) for every test
here. The source repositories (`SourceRepo`, `source`) are in tests/conftest.py, shared with the service's tests."""

from __future__ import annotations

import pytest

from service.settings import Settings
from tests.conftest import code_bank_settings


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    """The usual test settings, with local repositories allowed and a webhook secret."""
    return code_bank_settings(settings)
