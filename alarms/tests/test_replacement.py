"""Identity across replacement: a stack update deletes an alarm and creates it again under a new name; the
new alarm is linked to the old one and keeps what people decided about it, through the real refresh
against the local AWS."""

import pytest
from django.test import Client

from alarms import aws
from alarms.choices import RuleMatch
from alarms.models import Alarm, AuditEntry, AwsAccount, MappingRule, Service, Team
from alarms.services.governance import alarm_update_governance
from alarms.services.refresh import catalog_refresh
from alarms.services.replacement import replacement_candidates, replacement_unlink
from alarms.tests.local_estate import ACCOUNTS, REGIONS, member, register_accounts

pytestmark = pytest.mark.django_db

ACCOUNT, REGION = ACCOUNTS[0], REGIONS[0]
STACK = {"aws:cloudformation:stack-name": "cart-prod", "aws:cloudformation:logical-id": "AddItemErrors"}
OLD, NEW = "cart-prod-AddItemErrors-1KX7Q2", "cart-prod-AddItemErrors-9ZP3M8"
GOVERNANCE = {
    "purpose_detects": "Customers cannot add items to their cart",
    "purpose_customer_impact": "Lost orders",
    "purpose_action": "Roll back the last cart deployment",
    "runbook_url": "https://runbooks.example.com/cart",
    "tier": "page",
    "signal_kind": "symptom",
}


def put(name: str, *, function: str = "cart-addItem", threshold: float = 1.0, tags: dict | None = None) -> None:
    aws.client("cloudwatch", access=member(ACCOUNT), region=REGION).put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=3,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


def delete(*names: str) -> None:
    aws.client("cloudwatch", access=member(ACCOUNT), region=REGION).delete_alarms(AlarmNames=list(names))


def refresh() -> None:
    result = catalog_refresh(account=AwsAccount.objects.get(account_id=ACCOUNT), region=REGION)
    assert not result.failed, result.alarms.error


def alarm(name: str) -> Alarm:
    return Alarm.objects.select_related("service", "owner_team", "replaced_by").get(name=name)


@pytest.fixture
def governed(local_aws, editor):
    """The stack's alarm and an unrelated one, synced; the stack's alarm has an owner and a purpose."""
    register_accounts()
    put(OLD, tags=STACK)
    put("search-query-Errors", function="search-query")
    refresh()
    team = Team.objects.create(slug="cart", name="Cart")
    service = Service.objects.create(slug="cart", name="Cart", team=team)
    alarm_update_governance(alarm=alarm(OLD), actor=editor, service=service, owner_team=team, **GOVERNANCE)
    return {"team": team, "service": service}


@pytest.fixture
def replaced(governed):
    """What CloudFormation does when an update replaces the alarm (a new name, the same logical id), then a
    refresh: (old, new)."""
    put(NEW, function="cart-addItem-v2", tags=STACK)
    delete(OLD)
    refresh()
    return alarm(OLD), alarm(NEW)


def test_a_replaced_stack_alarm_is_linked_and_its_successor_keeps_its_governance(governed, replaced):
    old, new = replaced
    assert old.deleted_at is not None
    assert old.replaced_by == new
    assert (new.service, new.owner_team) == (governed["service"], governed["team"])
    assert (new.service_source, new.owner_team_source) == ("manual", "manual")
    assert {name: getattr(new, name) for name in GOVERNANCE} == GOVERNANCE
    carried = AuditEntry.objects.get(alarm=new, action="alarm.carried")
    assert carried.actor is None
    assert carried.after["carried_from"] == old.arn
    assert (carried.before["tier"], carried.after["tier"]) == ("", "page")
    assert (carried.before["owner_team"], carried.after["owner_team"]) == (None, "cart")
    assert AuditEntry.objects.get(alarm=old, action="alarm.replaced").after == {"replaced_by": new.arn}


def test_the_old_alarm_may_go_one_sync_after_its_successor_appeared(governed):
    put(NEW, function="cart-addItem-v2", tags=STACK)  # the stack update is still running at this sync
    refresh()
    assert alarm(NEW).tier == ""

    delete(OLD)
    refresh()

    assert alarm(OLD).replaced_by == alarm(NEW)
    assert alarm(NEW).tier == "page"


def test_a_person_s_owner_outranks_what_the_rules_gave_the_successor_meanwhile(governed):
    # The stack's tag names another service; the rules give it to the successor, which appears a sync before
    # the old alarm goes. The person's choice on the old alarm still wins.
    Service.objects.create(slug="checkout", name="Checkout")
    MappingRule.objects.create(
        position=10, name="service tag", match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True
    )
    put(NEW, function="cart-addItem-v2", tags={**STACK, "service": "checkout"})
    refresh()
    assert (alarm(NEW).service.slug, alarm(NEW).service_source) == ("checkout", "rule")

    delete(OLD)
    refresh()

    new = alarm(NEW)
    assert (new.service, new.service_source) == (governed["service"], "manual")
    refresh()  # and the rules leave it so
    assert alarm(NEW).service == governed["service"]


def test_what_the_successor_already_has_is_kept(governed, editor):
    put(NEW, function="cart-addItem-v2", tags=STACK)
    refresh()
    alarm_update_governance(alarm=alarm(NEW), actor=editor, tier="ticket", purpose_action="Page the cart team")
    alarm_update_governance(alarm=alarm(NEW), actor=editor, purpose_action="")
    delete(OLD)
    refresh()

    new = alarm(NEW)
    assert new.tier == "ticket"
    assert new.purpose_action == ""  # a person cleared it: not filled in again
    assert new.purpose_detects == GOVERNANCE["purpose_detects"]


def test_a_console_alarm_recreated_under_a_new_name_is_linked_by_its_definition(governed, editor):
    search = alarm("search-query-Errors")
    alarm_update_governance(alarm=search, actor=editor, purpose_detects="Search is failing")
    put("search-query-Errors-v2", function="search-query")
    delete("search-query-Errors")
    refresh()

    assert alarm("search-query-Errors").replaced_by == alarm("search-query-Errors-v2")
    assert alarm("search-query-Errors-v2").purpose_detects == "Search is failing"


def test_two_candidates_are_ambiguous_and_nothing_is_linked(governed):
    put("search-query-Errors-warning", function="search-query", threshold=5.0)
    put("search-query-Errors-critical", function="search-query", threshold=50.0)
    delete("search-query-Errors")
    refresh()

    assert alarm("search-query-Errors").replaced_by is None
    assert not Alarm.objects.filter(replaces__isnull=False).exists()
    assert not AuditEntry.objects.filter(action__in=["alarm.replaced", "alarm.carried"]).exists()


def test_unlink_reverts_what_nobody_changed_and_the_link_never_comes_back(replaced, editor):
    alarm_update_governance(alarm=alarm(NEW), actor=editor, purpose_detects="Cart writes fail (v2)")

    replacement_unlink(alarm=alarm(OLD), actor=editor)
    put("unrelated-Errors", function="unrelated")  # the next sync changes something
    refresh()

    old, new = alarm(OLD), alarm(NEW)
    assert (old.replaced_by, old.replacement_dismissed) == (None, True)
    assert (new.service, new.owner_team, new.service_source, new.tier, new.runbook_url) == (None, None, "", "", "")
    assert new.purpose_detects == "Cart writes fail (v2)"  # changed by a person since: kept
    reverted = AuditEntry.objects.get(alarm=new, action="alarm.carry_reverted")
    assert reverted.actor == editor
    assert (reverted.before["tier"], reverted.after["tier"]) == ("page", "")
    assert "purpose_detects" not in reverted.after
    assert AuditEntry.objects.get(alarm=old, action="alarm.unlinked").after["replacement_dismissed"] is True
    assert AuditEntry.objects.filter(action="alarm.replaced").count() == 1


def test_the_alarm_page_shows_the_chain_and_editors_unlink_from_it(replaced, editor, client):
    old, new = replaced
    client.force_login(editor)

    new_page = client.get(f"/alarms/{new.pk}/").content.decode()
    old_page = client.get(f"/alarms/{old.pk}/").content.decode()

    assert f'Replaces</dt><dd>← <a href="/alarms/{old.pk}/">{OLD}</a>' in new_page
    assert f'Replaced by</dt><dd>→ <a href="/alarms/{new.pk}/">{NEW}</a>' in old_page
    assert f'action="/alarms/{old.pk}/unlink-replacement/"' in new_page

    response = client.post(f"/alarms/{old.pk}/unlink-replacement/", {"back": new.pk}, follow=True)

    assert response.redirect_chain == [(f"/alarms/{new.pk}/", 302)]
    assert "Unlinked" in response.content.decode()
    assert "Replaces</dt>" not in response.content.decode()
    assert alarm(OLD).replacement_dismissed


def test_viewers_see_the_chain_but_cannot_unlink(replaced, viewer, client):
    old, new = replaced
    client.force_login(viewer)

    page = client.get(f"/alarms/{new.pk}/").content.decode()
    refused = client.post(f"/alarms/{old.pk}/unlink-replacement/")

    assert f'<a href="/alarms/{old.pk}/">{OLD}</a>' in page
    assert "unlink-replacement" not in page
    assert refused.status_code == 403
    assert alarm(OLD).replaced_by == new


def test_unlink_needs_the_csrf_token(replaced, editor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)

    assert browser.post(f"/alarms/{alarm(OLD).pk}/unlink-replacement/").status_code == 403
    assert alarm(OLD).replaced_by == alarm(NEW)


def row(pk: int, **fields) -> dict:
    """An alarm as the matcher reads it (plain values, as from the catalog)."""
    values = {
        "pk": pk,
        "arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a{pk}",
        "alarm_type": "metric",
        "stack_name": "",
        "tags": {},
        "namespace": "AWS/Lambda",
        "metric_name": "Errors",
        "dimensions": {"FunctionName": "checkout"},
        "comparison_operator": "GreaterThanThreshold",
        "metrics": [],
        "alarm_rule": "",
    }
    return values | fields


def pairs(gone: list[dict], new: list[dict]) -> list[tuple[int, int]]:
    return [(old["pk"], successor["pk"]) for old, successor in replacement_candidates(gone, new)]


def test_composite_alarms_match_by_their_rule():
    rule = 'ALARM("checkout-5xx") OR ALARM("checkout-latency")'
    composite = {"alarm_type": "composite", "namespace": "", "metric_name": "", "dimensions": {}, "alarm_rule": rule}

    changed = composite | {"alarm_rule": 'ALARM("checkout-5xx")'}

    assert pairs([row(1, **composite)], [row(2, **composite), row(3, **changed)]) == [(1, 2)]


def test_the_logical_id_wins_over_a_definition_two_alarms_share():
    in_stack = {"stack_name": "checkout-prod", "tags": {"aws:cloudformation:logical-id": "ErrorsAlarm"}}
    other = {"stack_name": "checkout-prod", "tags": {"aws:cloudformation:logical-id": "ErrorsWarning"}}

    assert pairs([row(1, **in_stack)], [row(2, **other), row(3, **in_stack)]) == [(1, 3)]
    assert pairs([row(1)], [row(2, **other), row(3, **in_stack)]) == []  # by definition: two candidates
    assert pairs([row(1), row(4)], [row(3)]) == []  # two old alarms for one new: ambiguous the other way
