"""API throttles: past its rate a client gets 429 in the API's one error shape, other clients are unaffected."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads the rates once, at import; production's come from OKAMI_API_USER_RATE / OKAMI_API_ANON_RATE.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})


def test_a_user_past_the_rate_gets_429_in_the_api_error_shape(django_user_model, low_rates):
    vera = APIClient()
    vera.force_authenticate(django_user_model.objects.create_user("vera"))
    eddie = APIClient()
    eddie.force_authenticate(django_user_model.objects.create_user("eddie"))

    assert [vera.get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = vera.get("/api/v1/teams/")

    assert throttled.status_code == 429
    assert set(throttled.json()) == {"detail", "errors"}
    assert throttled.json()["detail"].startswith("Request was throttled.")
    assert throttled.json()["errors"] == {}
    assert int(throttled["Retry-After"]) > 0
    assert eddie.get("/api/v1/teams/").status_code == 200
