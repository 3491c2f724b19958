"""The inbox: my teams' alerts that nobody labelled, newest first with what the alarm is for, labelled one or
many at once; the count in the navigation bar; a constant number of queries however many alerts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from alarms.models import Alarm, AuditEntry, Team
from incidents.models import Alert

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
INBOX = reverse("alert-inbox")


def open_alerts(alarm: Alarm, count: int, *, start: datetime = T0, **fields) -> list[Alert]:
    """``count`` closed alerts of the alarm, an hour apart, oldest first."""
    return Alert.objects.bulk_create(
        Alert(alarm=alarm, opened_at=start + timedelta(hours=i), closed_at=start + timedelta(hours=i, minutes=4),
              **fields)
        for i in range(count)
    )  # fmt: skip


@pytest.fixture
def estate(catalog, make_alarms, viewer):
    """Vera is in Payments; Storefront is another team. Payments has three alerts to label (two alarms, one
    with its purpose written, one with only a suggestion) and one labelled; Storefront has one to label."""
    catalog["team"].members.add(viewer)
    storefront = Team.objects.create(slug="storefront", name="Storefront")
    written, suggested = make_alarms(catalog["account"], 2, prefix="checkout", service=catalog["service"],
                                     owner_team=catalog["team"])  # fmt: skip
    Alarm.objects.filter(pk=written.pk).update(purpose_detects="Checkout errors above 1%",
                                               purpose_action="Roll back the last deploy")  # fmt: skip
    Alarm.objects.filter(pk=suggested.pk).update(suggested_detects="Lambda errors", suggested_action="Read the logs")
    (search,) = make_alarms(catalog["account"], 1, prefix="search", owner_team=storefront)
    mine = open_alerts(written, 2) + open_alerts(suggested, 1, start=T0 + timedelta(minutes=30))
    labelled = open_alerts(written, 1, start=T0 - timedelta(days=1), outcome="actioned")
    theirs = open_alerts(search, 1)
    return {**catalog, "storefront": storefront, "mine": mine, "labelled": labelled[0], "theirs": theirs[0]}


def rows(page: str) -> list[int]:
    return [int(part.split('"', 1)[0]) for part in page.split('<tr data-alert="')[1:]]


def test_the_inbox_lists_my_teams_unlabelled_alerts_newest_first_with_their_purpose(estate, client, viewer):
    client.force_login(viewer)

    page = client.get(INBOX).content.decode()

    newest_first = sorted(estate["mine"], key=lambda a: a.opened_at, reverse=True)
    assert rows(page) == [a.pk for a in newest_first]
    assert "Checkout errors above 1%" in page and "Roll back the last deploy" in page
    assert "Lambda errors" in page and "Read the logs" in page  # a suggestion when nobody wrote one
    assert 'name="outcome"' in page and 'name="alerts"' in page


def test_an_editor_may_look_at_every_teams_inbox(estate, client, editor):
    estate["team"].members.add(editor)
    client.force_login(editor)

    mine = rows(client.get(INBOX).content.decode())
    every = rows(client.get(INBOX, {"all": "1"}).content.decode())

    assert estate["theirs"].pk not in mine and estate["theirs"].pk in every
    assert len(every) == len(mine) + 1


def test_someone_without_a_team_is_pointed_at_the_alert_list(estate, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("newcomer", password="pw-new-123"))

    page = client.get(INBOX, {"all": "1"}).content.decode()  # not an editor: "all" is ignored

    assert 'id="inbox-no-team"' in page and f'href="{reverse("alert-list")}"' in page
    assert rows(page) == [] and 'id="inbox-count"' not in page


def test_label_three_alerts_at_once_from_the_inbox(estate, client, viewer):
    client.force_login(viewer)
    chosen = [a.pk for a in estate["mine"]]

    response = client.post(INBOX, {"alerts": chosen, "outcome": "no_action", "note": "deploy noise"})

    assert (response.status_code, response.url) == (302, INBOX)
    page = client.get(response.url).content.decode()
    assert "Labelled 3 alerts: No action needed." in page
    assert rows(page) == [] and 'id="inbox-empty"' in page
    assert set(Alert.objects.filter(pk__in=chosen).values_list("outcome", "outcome_note", "outcome_by")) == {
        ("no_action", "deploy noise", viewer.pk)
    }
    assert AuditEntry.objects.filter(action="alert.outcome").count() == 3


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"outcome": "actioned", "theirs": True}, "belong to a team you are not in"),
        ({"outcome": "duplicate"}, "Select a valid choice"),
        ({"outcome": ""}, "This field is required"),
        ({"outcome": "actioned", "missing": True}, "no longer exist"),
        ({"outcome": "actioned", "none": True}, "Select the alerts to label"),
    ],
    ids=["another-team", "duplicate", "no-outcome", "missing-alert", "nothing-selected"],
)
def test_a_refused_bulk_labelling_says_why_and_changes_nothing(estate, client, viewer, form, reason):
    client.force_login(viewer)
    chosen = [a.pk for a in estate["mine"]]
    if form.pop("theirs", False):
        chosen.append(estate["theirs"].pk)
    if form.pop("missing", False):
        chosen.append(999_999)
    if form.pop("none", False):
        chosen = []

    page = client.post(INBOX, {"alerts": chosen, **form}, follow=True).content.decode()

    assert "Nothing labelled:" in page and reason in page
    assert rows(page) == [a.pk for a in sorted(estate["mine"], key=lambda a: a.opened_at, reverse=True)]
    assert Alert.objects.filter(outcome="").count() == 4 and not AuditEntry.objects.exists()


def test_the_navigation_counts_my_teams_alerts_to_label(estate, client, viewer):
    client.force_login(viewer)

    before = client.get(reverse("alert-list"))
    client.post(INBOX, {"alerts": [estate["mine"][0].pk], "outcome": "transient"})
    after = client.get(reverse("dashboard")).content.decode()

    assert before.context["inbox_count"]() == 3
    assert 'id="inbox-count"' in before.content.decode() and ">3</span>" in before.content.decode()
    assert ">2</span>" in after.split('id="inbox-count"')[1].split("</a>")[0]


def test_the_inbox_and_the_alert_list_run_the_same_queries_for_5_or_50_alerts(
    estate, client, viewer, make_alarms, django_assert_num_queries
):
    client.force_login(viewer)
    (busy,) = make_alarms(estate["account"], 1, prefix="busy", owner_team=estate["team"], service=estate["service"])
    Alert.objects.all().delete()
    open_alerts(busy, 5)
    # Both: session, user, the count, the page. The inbox: my teams, and whether I am an editor (2); its count
    # is the navigation's. The list: the filter form's teams and services, and the navigation's count.
    pinned = {INBOX: 7, reverse("alert-list"): 7}
    for extra in (0, 45):
        open_alerts(busy, extra, start=T0 + timedelta(days=10))
        for url, queries in pinned.items():
            with django_assert_num_queries(queries):
                page = client.get(url).content.decode()
            assert page.count('href="/alerts/') >= 5 + extra


def test_an_administrator_in_no_team_answers_for_every_team(estate, client, django_user_model):
    admin = django_user_model.objects.create_user("ada", is_staff=True)
    client.force_login(admin)

    page = client.get(INBOX)
    elsewhere = client.get(reverse("alert-list"))

    unlabelled = [*estate["mine"], estate["theirs"]]
    assert sorted(rows(page.content.decode())) == sorted(a.pk for a in unlabelled)
    assert elsewhere.context["inbox_count"]() == len(unlabelled)
    estate["storefront"].members.add(admin)  # once in a team, the inbox is that team's
    assert rows(client.get(INBOX).content.decode()) == [estate["theirs"].pk]
