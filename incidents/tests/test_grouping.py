"""Incidents group the alerts of one service that fire close together, through the real path (state changes
in, alerts out); one open incident per service, also under concurrent ingest; late reports join the incident
they belong to; an incident closes after a quiet period."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from alarms.models import Service
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.models import Alert, Incident
from incidents.services import grouping
from incidents.services.episodes import state_change_record
from incidents.services.grouping import incidents_close

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def fire(alarm, state, minutes):
    report = AlarmStateReport(arn=alarm.arn, name=alarm.name, account_id="111111111111", region="eu-west-1",
                              at=T0 + timedelta(minutes=minutes), new_state=state)  # fmt: skip
    state_change_record(alarm_id=alarm.pk, report=report, source=f"sns:{alarm.pk}-{state}-{minutes}")


def incident_of(alarm, minutes):
    return Alert.objects.get(alarm=alarm, opened_at=T0 + timedelta(minutes=minutes)).incident


@pytest.fixture
def pair(catalog, make_alarms):
    """A service's Lambda errors alarm and its API's 5XX alarm, and an alarm of another service."""
    search = Service.objects.create(slug="search", name="Search")
    function, api = make_alarms(catalog["account"], 2, service=catalog["service"])
    (other,) = make_alarms(catalog["account"], 1, prefix="search", service=search)
    return function, api, other


def test_alarms_of_one_service_firing_together_make_one_incident(pair):
    function, api, other = pair

    fire(function, "ALARM", 0)
    fire(api, "ALARM", 1)
    fire(other, "ALARM", 1)

    incident = incident_of(function, 0)
    assert incident == incident_of(api, 1) != incident_of(other, 1)
    assert (incident.title, incident.opened_at, incident.last_alert_at) == (
        f"Checkout: {function.name}",
        T0,
        T0 + timedelta(minutes=1),
    )
    assert Incident.objects.filter(closed_at__isnull=True).count() == 2  # one per service


def test_an_alert_after_the_window_opens_a_new_incident_and_closes_the_quiet_one(pair):
    function, api, _ = pair
    fire(function, "ALARM", 0)
    fire(function, "OK", 3)

    fire(api, "ALARM", 25)  # 25 minutes after the last alert opened, all closed: another failure

    first, second = incident_of(function, 0), incident_of(api, 25)
    assert first != second
    assert (first.closed_at, second.closed_at) == (T0 + timedelta(minutes=3), None)


def test_an_alert_joins_while_an_alert_of_the_incident_is_still_open(pair):
    function, api, _ = pair
    fire(function, "ALARM", 0)  # stays in ALARM

    fire(api, "ALARM", 45)

    assert incident_of(function, 0) == incident_of(api, 45)


def test_late_reports_join_the_incident_they_belong_to_whatever_the_order(pair):
    function, api, _ = pair
    # Imported history, newest first: the API alarm's episode, then the function's a minute earlier.
    fire(api, "OK", 12)
    fire(api, "ALARM", 1)
    fire(function, "OK", 10)
    fire(function, "ALARM", 0)

    incident = incident_of(function, 0)
    assert incident == incident_of(api, 1)
    assert (incident.opened_at, incident.closed_at) == (T0, T0 + timedelta(minutes=12))
    assert Incident.objects.count() == 1


def test_an_incident_closes_when_its_alerts_closed_and_the_quiet_period_passed(pair, settings):
    settings.OKAMI_INCIDENT_QUIET_SECONDS = 600
    function, api, _ = pair
    fire(function, "ALARM", 0)
    fire(api, "ALARM", 1)
    fire(function, "OK", 5)

    assert incidents_close(now=T0 + timedelta(hours=2)) == 0  # the API alarm is still in ALARM
    fire(api, "OK", 8)
    assert incidents_close(now=T0 + timedelta(minutes=15)) == 0  # quiet for 7 minutes only
    assert incidents_close(now=T0 + timedelta(minutes=19)) == 1

    assert incident_of(function, 0).closed_at == T0 + timedelta(minutes=8)


def test_an_alarm_without_a_service_is_not_grouped(catalog, make_alarms):
    (loose,) = make_alarms(catalog["account"], 1)

    fire(loose, "ALARM", 0)

    assert incident_of(loose, 0) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_alerts_of_one_service_open_one_incident(pair, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("two connections writing at once: PostgreSQL's row locks")
    function, api, _ = pair
    make_incident = grouping._new

    def slow_new(alert, **kwargs):
        time.sleep(0.3)  # widen the race between reading "no open incident" and creating one
        return make_incident(alert, **kwargs)

    monkeypatch.setattr(grouping, "_new", slow_new)
    start, errors = threading.Barrier(2), []

    def ingest(alarm):
        try:
            start.wait()
            fire(alarm, "ALARM", 0)
        except Exception as error:  # the test reports what the other connection raised
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(alarm,)) for alarm in (function, api)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Incident.objects.count() == 1
    assert Alert.objects.filter(incident__isnull=False).count() == 2


def test_a_late_report_of_an_old_alert_still_open_does_not_stretch_a_quiet_incident(pair):
    function, api, _ = pair
    fire(function, "ALARM", 600)
    fire(function, "OK", 603)  # the recent incident: all its alerts closed, not yet quiet

    fire(api, "ALARM", 0)  # ten hours earlier, still in ALARM, reported only now

    recent, old = incident_of(function, 600), incident_of(api, 0)
    assert recent != old
    assert (recent.opened_at, recent.closed_at) == (T0 + timedelta(minutes=600), T0 + timedelta(minutes=603))
    assert (old.opened_at, old.closed_at) == (T0, None)


def test_an_alert_whose_alarm_got_its_service_later_is_grouped_by_the_sweep(catalog, make_alarms):
    (alarm,) = make_alarms(catalog["account"], 1)
    fire(alarm, "ALARM", 0)
    assert incident_of(alarm, 0) is None

    alarm.service = catalog["service"]
    alarm.save(update_fields=["service"])
    assert grouping.alerts_group_pending(now=T0 + timedelta(hours=1)) == 1

    assert incident_of(alarm, 0).service == catalog["service"]


def test_an_alert_that_turns_out_to_have_opened_earlier_moves_its_incident_with_it(pair):
    function, api, _ = pair
    fire(function, "ALARM", 10)
    fire(api, "ALARM", 11)

    fire(function, "ALARM", 4)  # a late report: the alarm was in ALARM from minute 4

    incident = incident_of(function, 4)
    assert (incident.opened_at, incident.last_alert_at) == (T0 + timedelta(minutes=4), T0 + timedelta(minutes=11))


@pytest.mark.django_db(transaction=True)
def test_grouping_never_holds_the_service_row_that_the_catalog_writes(pair):
    """Ingest locks alarm, then service (an advisory lock), then incident; the catalog locks the service row,
    then alarms. Were grouping to lock the service row, a merge of services and an ingest would deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks of two connections: PostgreSQL")
    function, _, _ = pair
    from django.db import transaction

    with transaction.atomic():
        fire(function, "ALARM", 0)  # holds its locks until the block ends
        outcome = []

        def catalog_write():
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                    cursor.execute("SELECT id FROM alarms_service WHERE id = %s FOR UPDATE", [function.service_id])
                    outcome.append("locked")
            except Exception as error:  # the other connection's refusal is what the test looks at
                outcome.append(repr(error))
            finally:
                connection.close()

        writer = threading.Thread(target=catalog_write)
        writer.start()
        writer.join()

    assert outcome == ["locked"]


def test_the_incidents_of_a_merged_service_follow_their_alarms(pair, editor):
    from alarms.services.catalog import services_merge

    function, _, other = pair
    fire(function, "ALARM", 0)  # Checkout's open incident
    fire(other, "ALARM", 1)  # Search's open incident
    checkout, search = function.service, other.service

    services_merge(source=search, into=checkout, actor=editor)

    assert incident_of(other, 1) == incident_of(function, 0)  # one open incident per service: joined
    assert Incident.objects.get().service == checkout
