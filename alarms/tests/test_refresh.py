"""A refresh of one (account, region) against the local AWS: a refresh that finds nothing changed writes
nothing and skips links and rules; anything links or rules read makes the next refresh run them."""

import contextlib
import io
import threading
import time

import pytest
from botocore.client import BaseClient
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms.choices import RuleMatch
from alarms.models import Alarm, AwsAccount, MappingRule, Service, Team
from alarms.services import refresh as refresh_service
from alarms.services import sync as sync_service
from alarms.services.refresh import catalog_refresh
from alarms.services.sync import sync_alarms
from alarms.tests.local_estate import ACCOUNTS, REGIONS, put_alarm, register_accounts
from alarms.tests.test_inventory import clients

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def key(local_aws):
    cache.clear()
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-createOrder-Errors", tags={"service": "checkout"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-query-Errors")
    register_accounts()
    team = Team.objects.create(slug="payments", name="Payments")
    Service.objects.create(slug="checkout", name="Checkout", team=team)
    MappingRule.objects.create(position=10, name="service tag", match=RuleMatch.TAG, tag_key="service", pattern="*",
                               service_from_value=True)  # fmt: skip
    return AwsAccount.objects.get(account_id=ACCOUNTS[0]), REGIONS[0]


def refresh(key):
    account, region = key
    return catalog_refresh(account=account, region=region)


def written_tables(queries) -> set[str]:
    tables = set()
    for query in queries:
        sql = query["sql"].lstrip()
        if sql.upper().startswith(WRITES):
            tables.add(sql.split('"')[1] if '"' in sql else sql)
    return tables


def test_a_refresh_that_finds_nothing_changed_writes_only_its_runs(key):
    first = refresh(key)
    assert (first.skipped, first.reassigned) == (False, 1)

    with CaptureQueriesContext(connection) as queries:
        again = refresh(key)

    assert again.skipped
    assert (again.alarms.unchanged, again.resources.unchanged) == (2, 0)
    assert written_tables(queries) <= {"alarms_syncrun"}


def test_the_sync_command_says_links_and_rules_were_skipped(key, capsys):
    call_command("sync_aws", account=ACCOUNTS[0], region=REGIONS[0])
    assert "skipped" not in capsys.readouterr().out

    call_command("sync_aws", account=ACCOUNTS[0], region=REGIONS[0])

    assert "links and rules skipped: nothing they read changed" in capsys.readouterr().out


def test_a_new_rule_is_applied_by_the_next_refresh_although_aws_did_not_change(key):
    refresh(key)
    search = Service.objects.create(slug="search", name="Search", team=Team.objects.get())
    MappingRule.objects.create(position=20, name="search", match=RuleMatch.NAME_PREFIX, pattern="search-",
                               set_service=search)  # fmt: skip

    again = refresh(key)

    assert (again.skipped, again.reassigned) == (False, 1)
    assert Alarm.objects.get(name="search-query-Errors").service == search


def test_a_renamed_team_slug_reruns_the_rules(key):
    refresh(key)
    Team.objects.update(slug="payments-2")

    assert not refresh(key).skipped


def test_a_change_in_aws_relinks_and_reruns_the_rules(key):
    refresh(key)
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-pay-Errors", tags={"service": "checkout"})

    again = refresh(key)

    assert (again.skipped, again.reassigned) == (False, 1)
    assert again.links is not None


def test_an_alarm_sync_run_outside_a_refresh_is_linked_by_the_next_refresh(key):
    account, region = key
    refresh(key)
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-pay-Errors", tags={"service": "checkout"})
    assert sync_alarms(account=account, region=region).created == 1  # e.g. a run started on its own

    again = refresh(key)  # finds nothing new in AWS itself

    assert again.alarms.created == 0
    assert not again.skipped
    assert Alarm.objects.get(name="checkout-pay-Errors").service.slug == "checkout"


@pytest.mark.django_db(transaction=True)
def test_the_sync_command_refreshes_several_keys_at_a_time(local_aws, capsys):
    for account_id in ACCOUNTS:
        for region in REGIONS:
            put_alarm(account_id, region, "orders-placeOrder-Errors", tags={"service": "orders"})
    register_accounts()

    call_command("sync_aws", jobs=4)

    runs = [line.split()[:3] for line in capsys.readouterr().out.splitlines()[1:]]
    lines = [run for run in runs if run[2:] == ["alarms"]]
    assert lines == [[a, r, "alarms"] for a in ACCOUNTS for r in REGIONS]  # in the order of the keys
    assert Alarm.objects.filter(deleted_at__isnull=True).count() == 4


class InFlight:
    """Each AWS call's key (account id, region) and when it was in flight; a client's account is known from the
    AssumeRole call that gave it its credentials. STS calls are left out: they act for no key's own
    credentials. Each call is slowed, so that keys allowed to overlap do."""

    def __init__(self, monkeypatch) -> None:
        self.lock, self.accounts, self.spans = threading.Lock(), {}, []
        make_api_call = BaseClient._make_api_call

        def timed(client, operation, params):
            if client.meta.service_model.service_name == "sts":
                response = make_api_call(client, operation, params)
                if operation == "AssumeRole":
                    self.accounts[response["Credentials"]["AccessKeyId"]] = params["RoleArn"].split(":")[4]
                return response
            credentials = client._request_signer._credentials.access_key
            key = (self.accounts.get(credentials, "portal"), client.meta.region_name)
            started = time.monotonic()
            try:
                time.sleep(0.05)
                return make_api_call(client, operation, params)
            finally:
                with self.lock:
                    self.spans.append((key, started, time.monotonic()))

        monkeypatch.setattr(BaseClient, "_make_api_call", timed)

    def most_keys_at_once(self) -> int:
        """The most keys with a call in flight at the same moment (a call's start is when overlaps begin)."""
        with self.lock:
            return max(
                (len({key for key, start, end in self.spans if start <= moment < end}) for _, moment, _ in self.spans),
                default=0,
            )

    def last_call_end(self, key: tuple[str, str]) -> float:
        with self.lock:
            return max(end for other, _, end in self.spans if other == key)

    def others_during(self, key: tuple[str, str], started: float, ended: float) -> int:
        """How many calls of other keys were in flight at some time between ``started`` and ``ended``."""
        with self.lock:
            return sum(1 for other, start, end in self.spans if other != key and start < ended and end > started)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("jobs", [1, 2])
def test_no_more_than_jobs_keys_call_aws_at_once_while_the_next_reads_during_writes_links_and_rules(
    local_aws, monkeypatch, jobs
):
    """A key takes its turn to call AWS once its runs are claimed and hands it on once its syncs have made
    their last call: the next key claims while this one reads, and its calls overlap this key's alarm writes
    and its links, but never more than ``jobs`` keys call AWS at once."""
    in_flight = InFlight(monkeypatch)  # before the accounts' roles are assumed
    for account_id in ACCOUNTS:
        for region in REGIONS:
            put_alarm(account_id, region, "orders-placeOrder-Errors", tags={"service": "orders"})
    register_accounts()
    writes, links, claims = [], [], []
    apply_page, links_refresh = sync_service.alarms_apply_page, refresh_service.links_refresh
    claim = sync_service.sync_run_claim

    def timed_claim(**kwargs):
        claims.append(((kwargs["account"].account_id, kwargs["region"]), time.monotonic()))
        return claim(**kwargs)

    def slow_apply_page(**kwargs):
        started = time.monotonic()
        time.sleep(0.8)  # the last page is in: once this key's inventory is listed too, the next key reads
        writes.append(((kwargs["run"].account.account_id, kwargs["run"].region), started, time.monotonic()))
        return apply_page(**kwargs)

    def slow_links(**kwargs):
        started = time.monotonic()
        time.sleep(0.3)
        links.append(((kwargs["account"].account_id, kwargs["region"]), started, time.monotonic()))
        return links_refresh(**kwargs)

    monkeypatch.setattr(sync_service, "alarms_apply_page", slow_apply_page)
    monkeypatch.setattr(refresh_service, "links_refresh", slow_links)
    monkeypatch.setattr(sync_service, "sync_run_claim", timed_claim)
    call_command("sync_aws", jobs=jobs, stdout=io.StringIO())

    assert in_flight.most_keys_at_once() == jobs
    # Claiming waits for no turn: one key more than ``jobs`` claimed its run before any key with a turn was done
    # calling AWS.
    first_hand_on = min(in_flight.last_call_end(key) for key, _ in claims[:jobs])
    assert claims[jobs][1] < first_hand_on
    # Some key called AWS while another wrote the alarms it had read, and while another linked.
    assert any(in_flight.others_during(*window) for window in writes)
    assert any(in_flight.others_during(*window) for window in links)
    assert Alarm.objects.filter(deleted_at__isnull=True).count() == 4


def test_the_rules_run_of_one_key_does_not_make_another_key_redo_its_own(key):
    account, _ = key
    other = REGIONS[1]
    put_alarm(ACCOUNTS[0], other, "checkout-refund-Errors", tags={"service": "checkout"})
    assert refresh(key).reassigned == 1
    assert catalog_refresh(account=account, region=other).reassigned == 1  # audited by the rules

    assert refresh(key).skipped


@pytest.mark.django_db(transaction=True)
def test_a_refresh_outside_a_transaction_lists_the_inventory_alongside_the_alarms_before_linking(local_aws):
    """As in a worker: the inventory runs in a thread of its own while the alarms sync, and links and rules
    still see its resources (the untagged alarm takes its function's service tag)."""
    cache.clear()
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-query-Errors")
    make = clients(ACCOUNTS[0], REGIONS[0])
    with contextlib.suppress(Exception):  # IAM is global to the account
        make("iam").create_role(RoleName="exec", AssumeRolePolicyDocument="{}")
    make("lambda").create_function(
        FunctionName="search-query",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNTS[0]}:role/exec",
        Handler="h.h",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Tags={"service": "search"},
    )
    register_accounts()
    Service.objects.create(slug="search", name="Search")
    MappingRule.objects.create(position=10, name="service tag", match=RuleMatch.TAG, tag_key="service", pattern="*",
                               service_from_value=True)  # fmt: skip

    result = catalog_refresh(account=AwsAccount.objects.get(account_id=ACCOUNTS[0]), region=REGIONS[0])

    assert (result.resources.status, result.alarms.status) == ("succeeded", "succeeded")
    assert result.resources.api_calls > 0
    alarm = Alarm.objects.get(name="search-query-Errors")
    assert (alarm.orphaned, alarm.service.slug) == (False, "search")


def test_rules_past_their_time_limit_leave_the_synced_catalog_standing(local_aws, settings, monkeypatch):
    put_alarm(ACCOUNTS[0], REGIONS[0], "orders-placeOrder-Errors")
    register_accounts()

    def too_long(**kwargs):
        raise ValidationError({"pattern": "The rules took too long over the catalog; nothing changed."})

    monkeypatch.setattr("alarms.services.refresh.rules_apply", too_long)
    result = catalog_refresh(account=AwsAccount.objects.get(account_id=ACCOUNTS[0]), region=REGIONS[0])

    assert not result.failed and result.reassigned == 0
    assert Alarm.objects.filter(name="orders-placeOrder-Errors").exists()
