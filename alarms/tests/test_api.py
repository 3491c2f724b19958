"""The v1 API: authentication, filters, the governance PATCH and its audit, pinned query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms.models import Alarm, AuditEntry, AwsAccount
from alarms.tests.local_estate import client_for

pytestmark = pytest.mark.django_db

ANONYMOUS_REFUSED = [
    "/api/v1/",
    "/api/v1/alarms/",
    "/api/v1/teams/",
    "/api/v1/services/",
    "/api/v1/aws-accounts/",
    "/api/v1/sync-runs/",
    "/api/schema/",
    "/api/docs/",
]


@pytest.mark.parametrize("url", ANONYMOUS_REFUSED)
def test_anonymous_requests_are_refused(client, url):
    response = client.get(url)
    assert response.status_code in (401, 403), response.status_code


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_health_checks_need_no_login(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_token_auth_lists_alarms_with_the_contract_fields(catalog, viewer, make_alarms):
    make_alarms(catalog["account"], 3, service=catalog["service"], owner_team=catalog["team"])

    body = client_for(viewer).get("/api/v1/alarms/").json()

    assert body["count"] == 3
    item = body["results"][0]
    for key in ("arn", "name", "account_id", "region", "state", "deleted_at", "service", "owner_team", "tier"):
        assert key in item
    assert item["service"] == "checkout"
    assert item["owner_team"] == "payments"
    assert item["account_id"] == "111111111111"


def test_filters_narrow_the_list(catalog, viewer, make_alarms):
    account = catalog["account"]
    make_alarms(account, 4, state="OK", prefix="ok")
    make_alarms(account, 2, state="ALARM", prefix="firing", owner_team=catalog["team"])
    make_alarms(account, 3, region="us-east-1", prefix="east")
    api = client_for(viewer)

    def count(query):
        return api.get(f"/api/v1/alarms/?{query}").json()["count"]

    assert count("state=ALARM") == 2
    assert count("owner_team=payments") == 2
    assert count("region=us-east-1") == 3
    assert count("account_id=111111111111") == 9
    assert count("search=firing") == 2
    assert count("arn=arn:aws:cloudwatch:us-east-1:111111111111:alarm:east-0-Errors") == 1
    assert count("no_owner=true") == 7


def test_deleted_alarms_are_hidden_unless_asked_for(catalog, viewer, make_alarms):
    make_alarms(catalog["account"], 2)
    Alarm.objects.filter(name="fn-0-Errors").update(deleted_at="2026-11-01T00:00:00Z")
    api = client_for(viewer)

    assert api.get("/api/v1/alarms/").json()["count"] == 1
    deleted = api.get("/api/v1/alarms/?deleted=true").json()
    assert [a["name"] for a in deleted["results"]] == ["fn-0-Errors"]
    assert deleted["results"][0]["deleted_at"].startswith("2026-11-01")


def test_page_size_is_capped_at_500(catalog, viewer, make_alarms):
    make_alarms(catalog["account"], 520)

    body = client_for(viewer).get("/api/v1/alarms/?page_size=1000").json()

    assert len(body["results"]) == 500
    assert body["count"] == 520


def test_list_runs_a_constant_number_of_queries(catalog, viewer, make_alarms):
    api = client_for(viewer)
    make_alarms(catalog["account"], 3, service=catalog["service"], owner_team=catalog["team"])
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/alarms/?page_size=500").status_code == 200
    make_alarms(catalog["account"], 300, prefix="more", service=catalog["service"], owner_team=catalog["team"])
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/alarms/?page_size=500").json()["results"]) == 303
    assert len(many) == len(few)
    assert len(many) <= 6


def test_editor_patches_governance_and_it_is_audited(catalog, editor, make_alarms):
    make_alarms(catalog["account"], 1)
    alarm = Alarm.objects.get()

    response = client_for(editor).patch(
        f"/api/v1/alarms/{alarm.pk}/",
        {"owner_team": "payments", "service": "checkout", "tier": "page", "purpose_detects": "checkout errors"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["owner_team"] == "payments"
    alarm.refresh_from_db()
    assert (alarm.owner_team, alarm.service, alarm.tier) == (catalog["team"], catalog["service"], "page")
    entry = AuditEntry.objects.get(alarm=alarm)
    assert entry.actor == editor
    assert entry.before["owner_team"] is None
    assert entry.after["owner_team"] == "payments"
    assert entry.after["tier"] == "page"


def test_viewer_cannot_patch(catalog, viewer, make_alarms):
    make_alarms(catalog["account"], 1)
    alarm = Alarm.objects.get()

    response = client_for(viewer).patch(f"/api/v1/alarms/{alarm.pk}/", {"tier": "page"}, format="json")

    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.tier == ""
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"owner_team": "no-such-team"}, "owner_team"),
        ({"tier": "shout"}, "tier"),
        ({"runbook_url": "javascript:alert(1)"}, "runbook_url"),
        ({"name": "renamed"}, "name"),
        ({"threshold": 0}, "threshold"),
    ],
)
def test_bad_governance_input_is_a_400_with_the_error_shape_and_changes_nothing(
    catalog, editor, body, field, make_alarms
):
    make_alarms(catalog["account"], 1)
    alarm = Alarm.objects.get()

    response = client_for(editor).patch(f"/api/v1/alarms/{alarm.pk}/", body, format="json")

    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"] == "Invalid input."
    assert field in payload["errors"]
    assert Alarm.objects.get().name == "fn-0-Errors"
    assert not AuditEntry.objects.exists()


def test_put_is_not_allowed(catalog, editor, make_alarms):
    make_alarms(catalog["account"], 1)
    response = client_for(editor).put(f"/api/v1/alarms/{Alarm.objects.get().pk}/", {}, format="json")
    assert response.status_code == 405


def test_aws_accounts_are_for_administrators(viewer, admin_user):
    assert client_for(viewer).get("/api/v1/aws-accounts/").status_code == 403

    admin = client_for(admin_user)
    bad = admin.post("/api/v1/aws-accounts/", {"account_id": "12", "name": "x", "regions": ["mars"]}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"account_id"}
    good = admin.post(
        "/api/v1/aws-accounts/",
        {
            "account_id": "444444444444",
            "name": "sandbox",
            "regions": ["eu-west-1"],
            "role_arn": "arn:aws:iam::444444444444:role/OkamiReadOnly",
            "external_id": "s3cret",
        },
        format="json",
    )
    assert good.status_code == 201, good.json()
    assert "external_id" not in good.json()
    assert AwsAccount.objects.get(account_id="444444444444").external_id == "s3cret"
    assert "s3cret" not in str(AuditEntry.objects.get(target="aws-account:444444444444").after)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"regions": ["mars"]}, "regions"),
        ({"regions": []}, "regions"),
        ({"role_arn": "arn:aws:iam::444444444444:user/bob"}, "role_arn"),
        ({"external_id": "x"}, "external_id"),
        ({"external_id": "<script>"}, "external_id"),
    ],
)
def test_bad_account_registration_is_a_400_and_stores_nothing(admin_user, body, field):
    payload = {"account_id": "444444444444", "name": "sandbox", "regions": ["eu-west-1"], **body}

    response = client_for(admin_user).post("/api/v1/aws-accounts/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not AwsAccount.objects.exists()


def test_openapi_schema_is_served_to_signed_in_users(viewer):
    response = client_for(viewer).get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/v1/alarms/" in response.json()["paths"]
