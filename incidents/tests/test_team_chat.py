"""A team's chat settings: the page, the API, the test message and the list of teams."""

import logging
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.choices import Tier
from alarms.models import AuditEntry, Team
from incidents.chat.log import LogNotifier
from incidents.chat.notifier import ChatError
from incidents.models import Alert, TeamAlertPolicy
from incidents.services.chat import week_start
from incidents.services.team_chat import team_chat_settings, team_chat_update

pytestmark = pytest.mark.django_db

API = "/api/v1/teams/payments/chat/"


@pytest.fixture
def team(catalog):
    return catalog["team"]


@pytest.fixture
def member(django_user_model, team):
    user = django_user_model.objects.create_user("mia", password="pw-mia-123")
    team.members.add(user)
    return user


@pytest.fixture
def log_chat(settings):
    """The log backend: what would be posted goes to the log."""
    settings.SLACK_BOT_TOKEN = ""
    settings.OKAMI_DIGEST_TIME = "09:00"
    settings.OKAMI_PAGE_BUDGET = 15


def _patch(client, data, url=API):
    return client.patch(url, data, content_type="application/json")


def _audits():
    return list(AuditEntry.objects.filter(action="team.chat").values("actor_name", "target", "before", "after"))


def _page_alerts(catalog, make_alarms, count):
    """``count`` page notifications of the team this week, and alerts that are not page notifications."""
    page, ticket, muted = (
        make_alarms(catalog["account"], 1, prefix=prefix, owner_team=catalog["team"], tier=tier, actions_enabled=on)[0]
        for prefix, tier, on in (("page", Tier.PAGE, True), ("ticket", Tier.TICKET, True), ("muted", Tier.PAGE, False))
    )
    now = timezone.now()
    opened = max(week_start(now), now - timedelta(minutes=1))
    opened_at = [opened + timedelta(microseconds=i) for i in range(count)] + [week_start(now) - timedelta(hours=1)]
    Alert.objects.bulk_create(
        # Closed: an alarm has one open alert at most. The last of the page alarm's opened last week.
        [Alert(alarm=page, opened_at=at, closed_at=at) for at in opened_at]
        + [Alert(alarm=alarm, opened_at=opened, closed_at=opened) for alarm in (ticket, muted)]
    )


# The page


def test_a_member_gets_the_form_with_the_defaults_as_placeholders(client, member, team, log_chat):
    client.force_login(member)
    response = client.get("/teams/payments/chat/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="team-chat-form"' in body
    assert 'placeholder="09:00"' in body
    assert 'placeholder="15"' in body
    assert "Send a test message" in body
    assert "of a budget of <strong>15</strong>" in body


def test_the_page_shows_this_weeks_page_notifications_against_the_budget(
    client, member, catalog, make_alarms, log_chat
):
    TeamAlertPolicy.objects.create(team=catalog["team"], weekly_page_budget=2)
    _page_alerts(catalog, make_alarms, 3)
    client.force_login(member)
    body = client.get("/teams/payments/chat/").content.decode()
    assert "<strong>3</strong> page notifications of a budget of <strong>2</strong>" in body
    assert "over budget" in body


def test_a_reader_sees_the_settings_read_only(client, viewer, team, log_chat):
    team.chat_channel = "#payments"
    team.save(update_fields=["chat_channel"])
    TeamAlertPolicy.objects.create(team=team, digest_time=time(7, 30))
    client.force_login(viewer)
    response = client.get("/teams/payments/chat/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="team-chat-readonly"' in body
    assert 'id="team-chat-form"' not in body
    assert "Send a test message" not in body
    assert "#payments" in body
    assert "07:30" in body
    assert '15 <span class="muted small">(default)</span>' in body


def test_a_member_saves_through_the_page_and_it_is_audited(client, member, team, log_chat):
    client.force_login(member)
    response = client.post(
        "/teams/payments/chat/",
        {"chat_channel": "#payments-alerts", "digest_time": "08:15", "weekly_page_budget": "20"},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    policy = TeamAlertPolicy.objects.get(team=team)
    assert (team.chat_channel, policy.digest_time, policy.weekly_page_budget) == ("#payments-alerts", time(8, 15), 20)
    assert _audits() == [
        {
            "actor_name": "mia",
            "target": "team:payments",
            "before": {"chat_channel": "", "digest_time": None, "weekly_page_budget": None},
            "after": {"chat_channel": "#payments-alerts", "digest_time": "08:15", "weekly_page_budget": 20},
        }
    ]
    page = client.get(response.url).content.decode()
    assert "Saved." in page
    assert 'value="08:15"' in page


def test_empty_fields_on_the_page_go_back_to_the_defaults(client, member, team, log_chat):
    TeamAlertPolicy.objects.create(team=team, digest_time=time(7, 0), weekly_page_budget=40, transient_max_seconds=60)
    client.force_login(member)
    response = client.post("/teams/payments/chat/", {"chat_channel": "", "digest_time": "", "weekly_page_budget": ""})
    assert response.status_code == 302
    policy = TeamAlertPolicy.objects.get(team=team)
    assert (policy.digest_time, policy.weekly_page_budget, policy.transient_max_seconds) == (None, None, 60)
    current = team_chat_settings(Team.objects.get(pk=team.pk))
    assert (current.digest_time, current.digest_time_default) == (time(9, 0), True)
    assert (current.weekly_page_budget, current.weekly_page_budget_default) == (15, True)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"chat_channel": "payments alerts"}, "chat_channel"),
        ({"chat_channel": "#<!channel>"}, "chat_channel"),
        ({"weekly_page_budget": "0"}, "weekly_page_budget"),
        ({"weekly_page_budget": "1001"}, "weekly_page_budget"),
        ({"digest_time": "25:00"}, "digest_time"),
    ],
)
def test_a_bad_value_on_the_page_changes_nothing(client, member, team, log_chat, data, field):
    client.force_login(member)
    response = client.post(
        "/teams/payments/chat/", {"chat_channel": "#ok", "digest_time": "", "weekly_page_budget": "", **data}
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    team.refresh_from_db()
    assert team.chat_channel == ""
    assert not TeamAlertPolicy.objects.filter(team=team).exists()
    assert _audits() == []


def test_an_outsider_cannot_post_the_page(client, viewer, team, log_chat):
    client.force_login(viewer)
    response = client.post("/teams/payments/chat/", {"chat_channel": "#mine"})
    assert response.status_code == 403
    assert client.post("/teams/payments/chat/test/").status_code == 403
    team.refresh_from_db()
    assert team.chat_channel == ""


def test_the_test_button_posts_through_the_notifier(client, member, team, log_chat, caplog):
    team.chat_channel = "#payments"
    team.save(update_fields=["chat_channel"])
    client.force_login(member)
    with caplog.at_level(logging.INFO, logger="okami.chat"):
        response = client.post("/teams/payments/chat/test/", follow=True)
    assert response.status_code == 200
    assert any("chat post to #payments" in record.getMessage() for record in caplog.records)
    assert "Test message posted to #payments." in response.content.decode()
    team.refresh_from_db()
    assert team.chat_channel == "#payments"
    assert _audits() == []


def test_the_test_button_without_a_channel_says_so(client, member, team, log_chat, caplog):
    client.force_login(member)
    with caplog.at_level(logging.INFO, logger="okami.chat"):
        response = client.post("/teams/payments/chat/test/", follow=True)
    assert not any("chat post" in record.getMessage() for record in caplog.records)
    messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 1
    assert "channel" in messages[0].lower()
    assert "posted" not in messages[0].lower()


def test_the_test_button_needs_a_post(client, member, team, log_chat):
    client.force_login(member)
    assert client.get("/teams/payments/chat/test/").status_code == 405


# The API


def test_the_api_shows_the_defaults(client, viewer, team, log_chat):
    client.force_login(viewer)
    response = client.get(API)
    assert response.status_code == 200
    assert response.json() == {
        "team": "payments",
        "chat_channel": "",
        "digest_time": "09:00",
        "digest_time_default": True,
        "weekly_page_budget": 15,
        "weekly_page_budget_default": True,
        "page_notifications_this_week": 0,
    }


def test_the_api_counts_this_weeks_page_notifications(client, viewer, catalog, make_alarms, log_chat):
    _page_alerts(catalog, make_alarms, 2)
    client.force_login(viewer)
    assert client.get(API).json()["page_notifications_this_week"] == 2


def test_an_editor_patches_through_the_api_and_it_is_audited(client, editor, team, log_chat):
    client.force_login(editor)
    response = _patch(client, {"chat_channel": "C0123456789", "digest_time": "17:45", "weekly_page_budget": 5})
    assert response.status_code == 200
    assert response.json() == {
        "team": "payments",
        "chat_channel": "C0123456789",
        "digest_time": "17:45",
        "digest_time_default": False,
        "weekly_page_budget": 5,
        "weekly_page_budget_default": False,
        "page_notifications_this_week": 0,
    }
    # Only what is sent changes; null is the default again.
    response = _patch(client, {"weekly_page_budget": None})
    assert response.json()["weekly_page_budget"] == 15
    assert response.json()["weekly_page_budget_default"] is True
    assert response.json()["digest_time"] == "17:45"
    assert [(a["before"], a["after"]) for a in reversed(_audits())] == [
        (
            {"chat_channel": "", "digest_time": None, "weekly_page_budget": None},
            {"chat_channel": "C0123456789", "digest_time": "17:45", "weekly_page_budget": 5},
        ),
        ({"weekly_page_budget": 5}, {"weekly_page_budget": None}),
    ]


def test_saving_the_same_values_writes_no_audit(client, member, team, log_chat):
    client.force_login(member)
    _patch(client, {"chat_channel": "#payments"})
    _patch(client, {"chat_channel": "#payments"})
    assert len(_audits()) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"chat_channel": "#has space"}, "chat_channel"),
        ({"chat_channel": "payments"}, "chat_channel"),
        ({"chat_channel": "<#C0123456789|pay>"}, "chat_channel"),
        ({"chat_channel": "#" + "a" * 80}, "chat_channel"),
        ({"chat_channel": "c0123456789"}, "chat_channel"),
        ({"weekly_page_budget": 0}, "weekly_page_budget"),
        ({"weekly_page_budget": 1001}, "weekly_page_budget"),
        ({"weekly_page_budget": "many"}, "weekly_page_budget"),
        ({"digest_time": "9am"}, "digest_time"),
        ({"digest_time": "24:00"}, "digest_time"),
    ],
)
def test_a_bad_value_through_the_api_is_a_400_naming_the_field(client, member, team, log_chat, data, field):
    client.force_login(member)
    response = _patch(client, {"digest_time": "10:00", **data})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert list(body["errors"]) == [field]
    team.refresh_from_db()
    assert team.chat_channel == ""
    assert not TeamAlertPolicy.objects.filter(team=team).exists()
    assert _audits() == []


def test_an_outsider_gets_a_403_and_staff_may_change_it(client, viewer, django_user_model, team, log_chat):
    client.force_login(viewer)
    response = _patch(client, {"chat_channel": "#mine"})
    assert response.status_code == 403
    assert set(response.json()) == {"detail", "errors"}
    assert client.post(API + "test/").status_code == 403
    staff = django_user_model.objects.create_user("sam", password="pw-sam-123", is_staff=True)
    client.force_login(staff)
    assert _patch(client, {"chat_channel": "#payments"}).status_code == 200


def test_an_unknown_team_is_a_404(client, editor, log_chat):
    client.force_login(editor)
    assert client.get("/api/v1/teams/nobody/chat/").status_code == 404
    assert client.get("/teams/nobody/chat/").status_code == 404


def test_the_teams_api_is_still_there(client, viewer, team):
    client.force_login(viewer)
    response = client.get("/api/v1/teams/payments/")
    assert response.status_code == 200
    assert response.json()["slug"] == "payments"


def test_the_api_test_message(client, member, team, log_chat, caplog):
    client.force_login(member)
    response = client.post(API + "test/")
    assert response.status_code == 400
    assert "chat_channel" in response.json()["errors"]

    team.chat_channel = "#payments"
    team.save(update_fields=["chat_channel"])
    with caplog.at_level(logging.INFO, logger="okami.chat"):
        response = client.post(API + "test/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"channel", "ts"}
    assert body["channel"] == "#payments"
    assert any(body["ts"] in record.getMessage() for record in caplog.records)


def test_a_refusal_of_the_chat_is_a_502_with_the_reason(client, member, team, log_chat, monkeypatch):
    def refuse(self, **kwargs):
        raise ChatError("channel_not_found")

    monkeypatch.setattr(LogNotifier, "post", refuse)
    team.chat_channel = "#gone"
    team.save(update_fields=["chat_channel"])
    client.force_login(member)
    response = client.post(API + "test/")
    assert response.status_code == 502
    assert "channel_not_found" in response.json()["detail"]
    page = client.post("/teams/payments/chat/test/", follow=True)
    assert "channel_not_found" in page.content.decode()


# The service


@pytest.mark.parametrize("channel", ["#payments", "#pay_ments-2.eu", "C0123456789", "G0123456789", ""])
def test_channels_accepted(team, channel):
    assert team_chat_update(team=team, actor=None, chat_channel=channel).chat_channel == channel


def test_the_service_leaves_out_what_is_not_given(team, settings):
    settings.OKAMI_PAGE_BUDGET = 12
    TeamAlertPolicy.objects.create(team=team, digest_time=time(6, 0))
    current = team_chat_update(team=team, actor=None, weekly_page_budget=30)
    assert (current.digest_time, current.digest_time_default) == (time(6, 0), False)
    assert (current.weekly_page_budget, current.weekly_page_budget_default) == (30, False)
    current = team_chat_update(team=team, actor=None, weekly_page_budget=None)
    assert current.weekly_page_budget == 12


# The list of teams


def test_the_team_list_runs_a_constant_number_of_queries(client, viewer, log_chat):
    def add_teams(start, count):
        for i in range(start, start + count):
            made = Team.objects.create(slug=f"team-{i}", name=f"Team {i}", chat_channel=f"#team-{i}")
            if i % 2:
                TeamAlertPolicy.objects.create(team=made, digest_time=time(8, i % 60), weekly_page_budget=i + 1)

    client.force_login(viewer)
    add_teams(0, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/teams/").status_code == 200
    add_teams(2, 8)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/teams/")
    assert len(many) == len(few)
    body = response.content.decode()
    assert "#team-9" in body
    assert "08:09" in body  # team 9's own digest time
    assert body.count("/chat/") == 10
    assert 'href="/teams/"' in body  # the navigation link
