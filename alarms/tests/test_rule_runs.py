"""On a large catalog, applying the rules and previewing a rule leave the web request for a worker."""

from datetime import timedelta

import pytest

from alarms.models import Alarm, AuditEntry, MappingRule, RuleRun
from alarms.services.rule_runs import rule_run_execute

pytestmark = pytest.mark.django_db

RULE_FORM = {
    "position": 10,
    "name": "checkout",
    "enabled": "on",
    "match": "name_prefix",
    "pattern": "checkout-prod",
}


@pytest.fixture
def large(settings, catalog, make_alarms):
    """A catalog above the in-request limit (lowered so that the test stays small)."""
    settings.OKAMI_RULES_INLINE_MAX_ALARMS = 2
    make_alarms(catalog["account"], 3, prefix="checkout-prod")
    return catalog


def test_applying_the_rules_on_a_large_catalog_is_queued_and_the_page_follows_the_run(
    client, editor, large, django_capture_on_commit_callbacks
):
    MappingRule.objects.create(
        position=10, name="c", match="name_prefix", pattern="checkout-prod", set_service=large["service"]
    )
    client.force_login(editor)

    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/rules/apply/")

    run = RuleRun.objects.get()
    assert response.url == f"/rules/runs/{run.pk}/"
    assert len(queued) == 1
    assert not Alarm.objects.filter(service=large["service"]).exists()  # nothing done inside the request
    waiting = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in waiting and "(queued)" in waiting

    rule_run_execute(run_id=run.pk)  # what the worker does with the queued task
    assert rule_run_execute(run_id=run.pk) is None  # a second delivery does nothing

    assert Alarm.objects.filter(service=large["service"]).count() == 3
    assert AuditEntry.objects.filter(action="alarm.rules", actor_name="eddie").count() == 3
    done = client.get(response.url).content.decode()
    assert "refresh" not in done and "3</strong> alarms reassigned" in done


def test_a_preview_on_a_large_catalog_runs_in_the_worker_and_saves_nothing(
    client, editor, large, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):  # the task itself is run by the worker below
        response = client.post("/rules/new/", {**RULE_FORM, "set_service": large["service"].pk, "preview": "1"})

    run = RuleRun.objects.get(kind="preview")
    rule_run_execute(run_id=run.pk)

    page = client.get(response.url).content.decode()
    assert "matches <strong>3</strong> alarms" in page
    assert page.count("checkout-prod-") == 3
    assert not MappingRule.objects.exists()
    assert not Alarm.objects.filter(service=large["service"]).exists()


def test_a_failed_run_says_why(client, editor, large):
    run = RuleRun.objects.create(
        kind="preview", rule={"name": "bad", "match": "name_regex", "pattern": "(", "position": 1}
    )
    rule_run_execute(run_id=run.pk)
    client.force_login(editor)
    page = client.get(f"/rules/runs/{run.pk}/").content.decode()
    assert "It failed" in page and "regular expression" in page


def test_small_catalogs_keep_the_answer_on_the_page(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 3, prefix="checkout-prod")
    client.force_login(editor)
    response = client.post("/rules/new/", {**RULE_FORM, "set_service": catalog["service"].pk, "preview": "1"})
    assert response.status_code == 200 and response.context["preview"].matches == 3
    assert not RuleRun.objects.exists()


def test_the_api_answers_202_with_the_run_to_poll_on_a_large_catalog(client, editor, large):
    MappingRule.objects.create(
        position=10, name="c", match="name_prefix", pattern="checkout-prod", set_service=large["service"]
    )
    client.force_login(editor)

    queued = client.post("/api/v1/mapping-rules/apply/")

    assert queued.status_code == 202
    assert queued["Location"] == f"/api/v1/rule-runs/{queued.json()['id']}/"
    assert queued.json()["status"] == "queued"
    rule_run_execute(run_id=queued.json()["id"])
    polled = client.get(queued["Location"]).json()
    assert (polled["status"], polled["reassigned"]) == ("succeeded", 3)

    preview = client.post(
        "/api/v1/mapping-rules/dry-run/",
        {**RULE_FORM, "set_service": large["service"].slug},
        content_type="application/json",
    )
    assert (preview.status_code, preview.json()["kind"]) == (202, "preview")


def test_saving_a_rule_counts_its_matches_without_planning_the_whole_catalog(client, editor, large, monkeypatch):
    def no_plan(**kwargs):
        raise AssertionError("saving a rule must not work out every reassignment inside the request")

    monkeypatch.setattr("alarms.services.mapping.rules_plan", no_plan)
    client.force_login(editor)

    saved = client.post("/rules/new/", {**RULE_FORM, "set_service": large["service"].pk, "save": "1"})

    assert saved.status_code == 302
    assert MappingRule.objects.get().pattern == "checkout-prod"
    refused = client.post(
        "/rules/new/", {**RULE_FORM, "pattern": "nothing-like-it", "set_service": large["service"].pk, "save": "1"}
    )
    assert "matches no alarm" in refused.content.decode()


def test_a_run_whose_worker_was_lost_says_so_and_stops_refreshing(client, editor, large, settings):
    run = RuleRun.objects.create(kind="apply", status="running")
    RuleRun.objects.filter(pk=run.pk).update(
        created_at=run.created_at - timedelta(seconds=settings.OKAMI_SYNC_STALE_AFTER_SECONDS + 1)
    )
    client.force_login(editor)

    page = client.get(f"/rules/runs/{run.pk}/").content.decode()

    assert "was lost before it finished" in page
    assert 'http-equiv="refresh"' not in page
