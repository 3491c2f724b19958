import pytest
from django.contrib.auth.models import Permission

from alarms.models import Alarm, AwsAccount, MappingRule, Service, Team


@pytest.fixture(autouse=True)
def rules_each_test_states(request):
    """Each database test starts without mapping rules and creates those it relies on. A migrated database
    holds the default tag rules (migration 0009), a transactional test's flush removes them, so what a test
    would find depended on the tests before it; ``test_discovery`` restores the defaults it tests."""
    if request.node.get_closest_marker("django_db") is not None:
        MappingRule.objects.all().delete()


@pytest.fixture
def viewer(django_user_model):
    return django_user_model.objects.create_user("vera", password="pw-vera-123")


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user("eddie", password="pw-eddie-123")
    user.user_permissions.add(Permission.objects.get(codename="change_alarm_governance"))
    return user


@pytest.fixture
def catalog():
    account = AwsAccount.objects.create(account_id="111111111111", name="prod", regions=["eu-west-1", "us-east-1"])
    payments = Team.objects.create(slug="payments", name="Payments")
    checkout = Service.objects.create(slug="checkout", name="Checkout", team=payments)
    return {"account": account, "team": payments, "service": checkout}


@pytest.fixture
def make_alarms():
    """Bulk-create alarms named <prefix>-<i>-Errors in one account."""

    def make(account, count, *, region="eu-west-1", state="OK", prefix="fn", **fields):
        return Alarm.objects.bulk_create(
            Alarm(
                arn=f"arn:aws:cloudwatch:{region}:{account.account_id}:alarm:{prefix}-{i}-Errors",
                account=account,
                region=region,
                name=f"{prefix}-{i}-Errors",
                state=state,
                **fields,
            )
            for i in range(count)
        )

    return make
