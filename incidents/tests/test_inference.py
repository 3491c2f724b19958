"""Outcome inference: untouched quick alerts become transient and untouched twins in an incident duplicates,
after the grace period, per team limits; never over a person's label; idempotent; a person may override."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from alarms.models import AuditEntry, Team
from alarms.tests.local_estate import client_for
from incidents.models import Alert, Incident, TeamAlertPolicy
from incidents.services.inference import InferenceResult, outcomes_infer
from incidents.tasks import outcomes_infer_task

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=2)  # past the grace period (an hour) of everything below


@pytest.fixture
def alarms(catalog, make_alarms):
    """Three alarms of the payments team's checkout service, and one alarm of nobody's."""
    owned = make_alarms(catalog["account"], 3, owner_team=catalog["team"], service=catalog["service"])
    (orphan,) = make_alarms(catalog["account"], 1, prefix="orphan")
    return [*owned, orphan]


def alert(alarm, opened: timedelta, lasted: timedelta | None, **fields) -> Alert:
    return Alert.objects.create(
        alarm=alarm, opened_at=T0 + opened, closed_at=None if lasted is None else T0 + opened + lasted, **fields
    )


def incident(catalog, *alerts: Alert) -> Incident:
    made = Incident.objects.create(
        service=catalog["service"],
        title="Checkout: errors",
        opened_at=min(a.opened_at for a in alerts),
        last_alert_at=max(a.opened_at for a in alerts),
        closed_at=max(a.closed_at for a in alerts),
    )
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(incident=made)
    return made


def labels() -> dict[int, tuple]:
    return {a.pk: (a.outcome, a.outcome_inferred, a.duplicate_of_id) for a in Alert.objects.all()}


def test_an_untouched_quick_alert_is_transient_once_the_grace_period_passed(alarms):
    quick = alert(alarms[0], timedelta(0), timedelta(minutes=4, seconds=59))
    slow = alert(alarms[1], timedelta(0), timedelta(minutes=5, seconds=1))
    still_open = alert(alarms[2], timedelta(0), None)
    closed_at = quick.closed_at

    too_soon = outcomes_infer(now=closed_at + timedelta(minutes=59))
    done = outcomes_infer(now=closed_at + timedelta(minutes=61))

    assert too_soon == InferenceResult(transient=0, duplicate=0)
    assert done == InferenceResult(transient=1, duplicate=0)
    quick.refresh_from_db()
    assert (quick.outcome, quick.outcome_inferred, quick.outcome_by, quick.first_response_at) == (
        "transient",
        True,
        None,
        None,
    )
    assert quick.outcome_at == closed_at + timedelta(minutes=61)
    assert labels()[slow.pk] == labels()[still_open.pk] == ("", False, None)
    # One entry for the run, none per alert.
    (entry,) = AuditEntry.objects.all()
    assert (entry.action, entry.actor, entry.actor_name) == ("alert.infer", None, "outcome inference")
    assert entry.after == {"transient": 1, "duplicate": 0, "outcome_at": quick.outcome_at.isoformat()}


def test_a_team_policy_changes_the_transient_limit_of_its_alarms_only(alarms, catalog):
    TeamAlertPolicy.objects.create(team=catalog["team"], transient_max_seconds=600)
    other = Team.objects.create(slug="search", name="Search")
    TeamAlertPolicy.objects.create(team=other, transient_max_seconds=60)
    alarms[2].owner_team = other
    alarms[2].save(update_fields=["owner_team"])
    eight_minutes_owned = alert(alarms[0], timedelta(0), timedelta(minutes=8))
    eight_minutes_orphan = alert(alarms[3], timedelta(0), timedelta(minutes=8))
    two_minutes_strict = alert(alarms[2], timedelta(0), timedelta(minutes=2))
    two_minutes_orphan = alert(alarms[3], timedelta(minutes=30), timedelta(minutes=2))

    assert outcomes_infer(now=LATER) == InferenceResult(transient=2, duplicate=0)
    found = labels()
    assert found[eight_minutes_owned.pk] == found[two_minutes_orphan.pk] == ("transient", True, None)
    assert found[eight_minutes_orphan.pk] == found[two_minutes_strict.pk] == ("", False, None)


def test_an_untouched_alert_soon_after_another_alarms_alert_of_its_incident_is_its_duplicate(alarms, catalog):
    first = alert(alarms[0], timedelta(0), timedelta(minutes=2))  # quick: transient itself
    twin = alert(alarms[1], timedelta(seconds=90), timedelta(minutes=2))  # quick too, but a duplicate first
    third = alert(alarms[2], timedelta(seconds=110), timedelta(minutes=20))  # of the earliest, not of the twin
    incident(catalog, first, twin, third)

    assert outcomes_infer(now=LATER) == InferenceResult(transient=1, duplicate=2)
    assert labels() == {
        first.pk: ("transient", True, None),
        twin.pk: ("duplicate", True, first.pk),
        third.pk: ("duplicate", True, first.pk),
    }


def test_of_two_alerts_opening_together_the_later_recorded_is_the_duplicate(alarms, catalog):
    one = alert(alarms[0], timedelta(0), timedelta(minutes=20))
    other = alert(alarms[1], timedelta(0), timedelta(minutes=20))
    incident(catalog, one, other)

    outcomes_infer(now=LATER)

    assert labels() == {one.pk: ("", False, None), other.pk: ("duplicate", True, one.pk)}


def test_no_duplicate_across_incidents_for_the_same_alarm_or_beyond_the_window(alarms, catalog):
    long = timedelta(minutes=20)
    first = alert(alarms[0], timedelta(0), long)
    elsewhere = alert(alarms[1], timedelta(seconds=30), long)
    flap = alert(alarms[2], timedelta(minutes=5), timedelta(seconds=30))
    flap_again = alert(alarms[2], timedelta(minutes=6), long)  # the same alarm a minute later
    first_of_late = alert(alarms[1], timedelta(minutes=27, seconds=30), long)
    late = alert(alarms[2], timedelta(minutes=30), long)  # 150 s after another alarm's
    incident(catalog, first, flap, flap_again, first_of_late, late)
    separate = Incident.objects.create(title="another", opened_at=T0, last_alert_at=T0, closed_at=T0 + long)
    Alert.objects.filter(pk=elsewhere.pk).update(incident=separate)
    expected = {pk: ("", False, None) for pk in labels()} | {flap.pk: ("transient", True, None)}

    assert outcomes_infer(now=LATER) == InferenceResult(transient=1, duplicate=0)
    assert labels() == expected

    # The owner team's wider window does make the late one a duplicate.
    TeamAlertPolicy.objects.create(team=catalog["team"], duplicate_window_seconds=180)
    assert outcomes_infer(now=LATER) == InferenceResult(transient=0, duplicate=1)
    assert labels() == expected | {late.pk: ("duplicate", True, first_of_late.pk)}


def test_a_duplicate_waits_for_the_grace_period_after_it_opened(alarms, catalog):
    first = alert(alarms[0], timedelta(0), timedelta(minutes=20))
    twin = alert(alarms[1], timedelta(seconds=60), timedelta(minutes=20))
    incident(catalog, first, twin)

    assert outcomes_infer(now=twin.opened_at + timedelta(minutes=59)).duplicate == 0
    assert outcomes_infer(now=twin.opened_at + timedelta(minutes=61)).duplicate == 1


def test_a_persons_label_or_acknowledgement_is_never_overwritten(alarms, catalog, editor):
    quick = timedelta(minutes=1)
    labelled = alert(alarms[0], timedelta(0), quick, outcome="actioned", outcome_by=editor, outcome_at=T0)
    acknowledged = alert(alarms[1], timedelta(seconds=30), quick, acknowledged_by=editor, acknowledged_at=T0)
    named = alert(alarms[2], timedelta(seconds=40), quick, outcome_by=editor)  # touched, even without outcome
    incident(catalog, labelled, acknowledged, named)

    assert outcomes_infer(now=LATER) == InferenceResult(transient=0, duplicate=0)
    assert labels() == {
        labelled.pk: ("actioned", False, None),
        acknowledged.pk: ("", False, None),
        named.pk: ("", False, None),
    }


def test_a_second_run_changes_nothing(alarms, catalog):
    first = alert(alarms[0], timedelta(0), timedelta(minutes=1))
    twin = alert(alarms[1], timedelta(seconds=20), timedelta(minutes=1))
    incident(catalog, first, twin)
    outcomes_infer(now=LATER)
    before = list(Alert.objects.order_by("pk").values())

    assert outcomes_infer(now=LATER + timedelta(hours=1)) == InferenceResult(transient=0, duplicate=0)
    assert list(Alert.objects.order_by("pk").values()) == before


def test_a_run_is_a_few_statements_whatever_the_number_of_alerts(alarms, catalog, django_assert_max_num_queries):
    for i in range(30):
        alert(alarms[i % 4], timedelta(minutes=10 * i), timedelta(minutes=1 + i % 8))
    TeamAlertPolicy.objects.create(team=catalog["team"], transient_max_seconds=600, duplicate_window_seconds=300)

    # The policies; one duplicate UPDATE and one transient UPDATE per distinct limit (team's and default); the
    # run's audit entry (a COPY on PostgreSQL, which the query log does not show).
    with django_assert_max_num_queries(6):
        result = outcomes_infer(now=T0 + timedelta(days=1))

    assert result.transient == Alert.objects.filter(outcome="transient").count() > 0


def test_the_command_and_the_task_run_the_inference(alarms):
    recent = timezone.now() - timedelta(minutes=10)
    old = alert(alarms[0], timedelta(0), timedelta(minutes=1))
    fresh = Alert.objects.create(alarm=alarms[1], opened_at=recent, closed_at=recent + timedelta(minutes=1))
    out = StringIO()

    call_command("infer_outcomes", "--now", (T0 + timedelta(minutes=30)).isoformat(), stdout=out)
    assert out.getvalue().strip() == "0 alerts labelled transient, 0 duplicate"
    call_command("infer_outcomes", stdout=out)
    assert "1 alerts labelled transient, 0 duplicate" in out.getvalue()
    assert labels()[old.pk] == ("transient", True, None)

    Alert.objects.filter(pk=old.pk).update(outcome="", outcome_inferred=False)
    assert outcomes_infer_task() == 1
    assert labels()[fresh.pk] == ("", False, None)


def test_a_person_overrides_an_inferred_label_and_the_audit_shows_it_was_inferred(alarms, editor):
    quick = alert(alarms[0], timedelta(0), timedelta(minutes=1))
    outcomes_infer(now=LATER)

    response = client_for(editor).post(
        f"/api/v1/alerts/{quick.pk}/outcome/", {"outcome": "actioned", "note": "restarted it"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["outcome_inferred"]) == ("actioned", False)
    entry = AuditEntry.objects.get(action="alert.outcome")
    assert (entry.before["outcome"], entry.before["inferred"], entry.before["by"]) == ("transient", True, None)
    assert (entry.after["outcome"], entry.after["inferred"], entry.after["by"]) == ("actioned", False, "eddie")
    # And the next run leaves the person's label alone.
    assert outcomes_infer(now=LATER + timedelta(hours=1)) == InferenceResult(transient=0, duplicate=0)
    assert labels()[quick.pk] == ("actioned", False, None)


def test_the_admin_lists_inferred_alerts_and_edits_team_policies(alarms, catalog, admin_client):
    inferred = alert(alarms[0], timedelta(0), timedelta(minutes=1))
    alert(alarms[1], timedelta(0), timedelta(hours=1))
    made = incident(catalog, inferred)
    outcomes_infer(now=LATER)

    listed = admin_client.get("/admin/incidents/alert/?outcome_inferred__exact=1").content.decode()
    added = admin_client.post(
        "/admin/incidents/teamalertpolicy/add/",
        {"team": catalog["team"].pk, "transient_max_seconds": "90", "duplicate_window_seconds": ""},
    )

    assert alarms[0].name in listed and alarms[1].name not in listed
    assert admin_client.get(f"/admin/incidents/incident/{made.pk}/change/").status_code == 200
    assert admin_client.get("/admin/incidents/alert/add/").status_code == 403
    assert added.status_code == 302
    policy = TeamAlertPolicy.objects.get(team=catalog["team"])
    assert (policy.transient_max_seconds, policy.duplicate_window_seconds) == (90, None)
