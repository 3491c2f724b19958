"""Sync runs in the API: everyone reads the error summary; the full error (role ARNs) is for staff only."""

import pytest

from alarms.choices import SyncStatus
from alarms.tests.factories import SyncRunFactory
from alarms.tests.local_estate import client_for

pytestmark = pytest.mark.django_db

# What a sync stores when the account's trust policy expects another external id.
FULL_ERROR = (
    "An error occurred (AccessDenied) when calling the AssumeRole operation: User: "
    "arn:aws:sts::222222222222:assumed-role/okami-worker/i-0f3 is not authorized to perform: sts:AssumeRole "
    "on resource: arn:aws:iam::333333333333:role/OkamiSync (ExternalId okami-prod-7f2c)"
)
SUMMARY = "AssumeRole refused: check the role's trust policy and external id."


@pytest.fixture
def runs():
    return {
        "failed": SyncRunFactory(status=SyncStatus.FAILED, error=FULL_ERROR, error_summary=SUMMARY),
        "succeeded": SyncRunFactory(region="us-east-1"),
    }


def test_users_get_the_summary_and_null_for_the_full_error(viewer, runs):
    api = client_for(viewer)

    listed = {run["id"]: run for run in api.get("/api/v1/sync-runs/").json()["results"]}
    detail = api.get(f"/api/v1/sync-runs/{runs['failed'].pk}/").json()

    for failed in (listed[runs["failed"].pk], detail):
        assert failed["error_summary"] == SUMMARY
        assert failed["error"] is None
    assert listed[runs["succeeded"].pk]["error_summary"] == ""
    assert listed[runs["succeeded"].pk]["error"] is None
    assert "333333333333" not in api.get("/api/v1/sync-runs/?status=failed").content.decode()


def test_staff_get_the_full_error_too(admin_user, runs):
    api = client_for(admin_user)

    listed = {run["id"]: run for run in api.get("/api/v1/sync-runs/").json()["results"]}
    detail = api.get(f"/api/v1/sync-runs/{runs['failed'].pk}/").json()

    for failed in (listed[runs["failed"].pk], detail):
        assert (failed["error"], failed["error_summary"]) == (FULL_ERROR, SUMMARY)
    # An empty string, not null: the run had no error (null means "not shown to you").
    assert listed[runs["succeeded"].pk]["error"] == ""


def test_the_schema_says_the_full_error_is_for_staff(viewer):
    schema = client_for(viewer).get("/api/schema/?format=json").json()

    properties = schema["components"]["schemas"]["SyncRun"]["properties"]
    assert properties["error"]["nullable"] is True
    assert "staff only" in properties["error"]["description"]
    assert "error_summary" in properties
