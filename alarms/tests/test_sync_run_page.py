"""The sync run page: the full error of a failed run (role ARNs, account internals) is for staff only."""

import pytest

from alarms.choices import SyncStatus
from alarms.tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db

FULL_ERROR = (
    "AccessDenied: User arn:aws:sts::222222222222:assumed-role/okami-portal/i-0abc is not authorized to perform "
    "sts:AssumeRole on resource arn:aws:iam::111111111111:role/OkamiReadOnly"
)
SUMMARY = "Access denied: the portal could not assume the role of the account."


@pytest.fixture
def failed_run():
    return SyncRunFactory(status=SyncStatus.FAILED, error=FULL_ERROR, error_summary=SUMMARY)


def test_users_see_the_summary_not_the_full_error(client, viewer, failed_run):
    client.force_login(viewer)

    page = client.get("/sync-runs/").content.decode()

    assert SUMMARY in page
    assert "arn:aws:iam::111111111111" not in page
    assert "AssumeRole" not in page


def test_staff_see_the_full_error(client, admin_user, failed_run):
    client.force_login(admin_user)

    page = client.get("/sync-runs/").content.decode()

    assert FULL_ERROR in page
