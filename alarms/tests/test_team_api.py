"""PATCH /api/v1/teams/{slug}/ (administrators): name, chat channel and members, audited; bad values refused."""

import pytest

from alarms.models import AuditEntry
from alarms.tests.local_estate import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_user("ada", is_staff=True)


def test_an_administrator_changes_a_teams_channel_name_and_members(catalog, admin, viewer):
    response = client_for(admin).patch(
        "/api/v1/teams/payments/",
        {"name": "Payments squad", "chat_channel": "#payments-alerts", "members": [viewer.username]},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["chat_channel"], response.json()["members"]) == (
        "Payments squad",
        "#payments-alerts",
        [viewer.username],
    )
    (entry,) = AuditEntry.objects.filter(action="team.update")
    assert (entry.actor, entry.target) == (admin, "team:payments")
    assert entry.before == {"chat_channel": "", "members": [], "name": "Payments"}
    assert entry.after == {"chat_channel": "#payments-alerts", "members": [viewer.username], "name": "Payments squad"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"chat_channel": "<!channel> everyone"}, "chat_channel"),
        ({"members": ["nobody-here"]}, "members"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_values_are_refused_naming_the_field(catalog, admin, body, field):
    response = client_for(admin).patch("/api/v1/teams/payments/", body, format="json")

    assert response.status_code == 400 and field in response.json()["errors"]
    catalog["team"].refresh_from_db()
    assert (catalog["team"].name, catalog["team"].chat_channel) == ("Payments", "")
    assert not AuditEntry.objects.exists()


def test_only_administrators_change_a_team(catalog, editor):
    response = client_for(editor).patch("/api/v1/teams/payments/", {"chat_channel": "#x"}, format="json")

    assert response.status_code == 403
    catalog["team"].refresh_from_db()
    assert catalog["team"].chat_channel == ""
