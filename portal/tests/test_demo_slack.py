"""The demo's Slack: what the portal posted shows on the stand-in's page, escaped, and a button pressed there
reaches the portal as Slack's signed click, recording the outcome as the linked demo user."""

import urllib.request
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from alarms.tests.conftest import catalog, make_alarms  # noqa: F401 (fixtures)
from incidents.models import Alert, ChatPost
from incidents.services.chat import alert_announce
from portal.demo.slack_channel import DemoSlack, demo_chat_identities

SECRET = "demo-test-secret"


@pytest.fixture
def demo_slack(live_server, settings):
    slack = DemoSlack(
        token="xoxb-demo-test", signing_secret=SECRET, actions_url=f"{live_server.url}/hooks/slack/actions/"
    ).start()
    settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = "xoxb-demo-test", slack.url
    settings.SLACK_SIGNING_SECRET = SECRET
    yield slack
    slack.stop()


@pytest.mark.django_db(transaction=True)
def test_a_button_on_the_demo_slack_page_records_the_outcome_as_the_linked_user(
    demo_slack,
    catalog,  # noqa: F811 (the fixture)
    make_alarms,  # noqa: F811 (the fixture)
):
    editor = get_user_model().objects.create_user("editor")
    catalog["team"].members.add(editor)
    catalog["team"].chat_channel = "#payments"
    catalog["team"].save(update_fields=["chat_channel"])
    (alarm,) = make_alarms(catalog["account"], 1, prefix="<b>checkout</b>", tier="page",
                           service=catalog["service"], owner_team=catalog["team"])  # fmt: skip
    alert = Alert.objects.create(alarm=alarm, opened_at=timezone.now() - timedelta(minutes=1))
    assert demo_chat_identities() == 1  # editor linked; admin does not exist here; one user left unlinked
    assert alert_announce(alert_id=alert.pk) == "posted"
    post = ChatPost.objects.get(alert=alert)

    with urllib.request.urlopen(demo_slack.page_url) as response:  # noqa: S310 (the test's stand-in)
        page = response.read().decode()
    assert "&lt;b&gt;checkout&lt;/b&gt;" in page and "<b>checkout</b>" not in page
    assert 'value="okami_actioned"' in page

    form = {"channel": post.channel, "ts": post.ts, "action_id": "okami_actioned", "value": str(alert.pk),
            "as": "U0DEMOEDIT"}  # fmt: skip
    request = urllib.request.Request(f"{demo_slack.page_url}click", data=urlencode(form).encode())  # noqa: S310
    with urllib.request.urlopen(request) as response:  # noqa: S310
        assert "the portal answered 200" in response.read().decode()

    alert.refresh_from_db()
    assert (alert.outcome, alert.outcome_by) == ("actioned", editor)
