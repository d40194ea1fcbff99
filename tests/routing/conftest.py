from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GITHUB_SECRET", "github-test-secret-0123456789")
    monkeypatch.setenv("TEST_STRIPE_SECRET", "whsec_stripe-test-secret-0123456789")
