"""One (account, region) brought up to date: inventory, alarms, discovery of new services and teams, links,
then ownership by the rules.

The order matters: links need both resources and alarms, and rules read the links (alarms without tags
inherit their resource's tags).

Links and rules are skipped when they cannot change anything: neither sync of the key changed a row, the
previous runs of the key were the ones of the last complete refresh, and the rules, services, teams and
governance decisions (audit trail) are as they were then. The last complete refresh is remembered in the
cache; a cache that lost it only costs a full refresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Count, Max

from alarms.choices import SyncStatus
from alarms.models import AuditEntry, AwsAccount, MappingRule, Service, ServiceAlias, SyncRun, Team, TeamAlias
from alarms.services.discovery import catalog_discover
from alarms.services.inventory import sync_resources
from alarms.services.links import LinkSummary, links_refresh
from alarms.services.mapping import rules_apply
from alarms.services.replacement import replacements_link
from alarms.services.runs import AwsTurn
from alarms.services.suggested_purpose import suggestions_refresh
from alarms.services.sync import sync_alarms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshResult:
    resources: SyncRun | None
    alarms: SyncRun | None
    links: LinkSummary | None
    reassigned: int
    # Links and rules were skipped: nothing they read changed since the last complete refresh.
    skipped: bool = False

    @property
    def failed(self) -> bool:
        return any(run is not None and run.status == SyncStatus.FAILED for run in (self.resources, self.alarms))


def ownership_inputs_fingerprint() -> str:
    """A digest of what discovery and rules read besides a key's alarms and resources: the rules, services,
    teams, their aliases, the last governance decision and the discovery settings. Six small queries; services and teams
    are a few hundred rows. The refreshes' own rule runs are left out (actor "rules"): one key's
    reassignments change nothing another key's rules read."""
    rules = MappingRule.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    services = list(Service.objects.order_by("id").values_list("id", "slug", "team_id"))
    teams = list(Team.objects.order_by("id").values_list("id", "slug"))
    audit = AuditEntry.objects.exclude(actor_id__isnull=True, actor_name="rules").aggregate(latest=Max("id"))["latest"]
    aliases = [model.objects.aggregate(n=Count("id"), latest=Max("id")) for model in (ServiceAlias, TeamAlias)]
    # Discovery's settings too: turning it on (or a deploy that brings it) makes every key discover once.
    discovery = [settings.OKAMI_DISCOVERY, settings.OKAMI_DISCOVER_TAG_KEYS, settings.OKAMI_DISCOVER_STACK_TAG]
    payload = json.dumps([rules["count"], rules["latest"], services, teams, audit, aliases, discovery], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _state_key(account: AwsAccount, region: str) -> str:
    return f"okami:refresh:{account.pk}:{region}"


def _run_changed(run: SyncRun | None) -> bool:
    return run is None or run.status != SyncStatus.SUCCEEDED or bool(run.created + run.updated + run.deleted)


def _previous_run_id(run: SyncRun) -> int | None:
    return (
        SyncRun.objects.filter(account_id=run.account_id, region=run.region, kind=run.kind, id__lt=run.pk)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )


def _unchanged_inputs(account: AwsAccount, region: str, resources: SyncRun | None, alarms: SyncRun) -> str | None:
    """The fingerprint of the last complete refresh if nothing links and rules read changed since, else None."""
    if _run_changed(resources) or _run_changed(alarms) or alarms.held_deletions:
        return None
    remembered = cache.get(_state_key(account, region))
    if not remembered:
        return None
    # The previous runs of the key must be those of the last complete refresh: a sync run on its own in
    # between may have changed rows that were never linked.
    previous = {"resources": _previous_run_id(resources), "alarms": _previous_run_id(alarms)}
    if previous != {"resources": remembered["resources"], "alarms": remembered["alarms"]}:
        return None
    return remembered["inputs"] if remembered["inputs"] == ownership_inputs_fingerprint() else None


def _remember(account: AwsAccount, region: str, resources: SyncRun | None, alarms: SyncRun, inputs: str) -> None:
    state = {"resources": resources.pk if resources else None, "alarms": alarms.pk, "inputs": inputs}
    cache.set(_state_key(account, region), state, timeout=None)


def _own_connections(service, **kwargs):
    """``service`` run in a pool thread, whose database connections are its own: closed when it ends."""
    try:
        return service(**kwargs)
    finally:
        connections.close_all()  # this thread's own connections


class _AwsTurn(AwsTurn):
    """A key's turn to call AWS, one of the ``jobs`` turns of catalog_refresh_all: taken when the first of
    the key's syncs is about to call AWS (claiming their runs is database work, done while another key holds
    the turn), handed on as soon as both syncs have made their last AWS call, so that the next key's calls
    overlap this key's writes; at the latest when the syncs end, however they end."""

    def __init__(self, turns: threading.Semaphore | None) -> None:
        self._turns = turns
        self._readers = 2  # the inventory and the alarm sync
        self._taken = False
        self._held = False
        self._taking = threading.Lock()  # the second reader waits for the turn the first is waiting for
        self._lock = threading.Lock()

    def __enter__(self) -> _AwsTurn:
        return self

    def take(self) -> None:
        if self._turns is None:
            return
        with self._taking:
            if not self._taken:
                self._turns.acquire()
                with self._lock:
                    self._taken = self._held = True

    def done(self) -> None:
        with self._lock:
            self._readers -= 1
            if self._readers <= 0:
                self._hand_on()

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._hand_on()

    def _hand_on(self) -> None:
        if self._held:
            self._held = False
            self._turns.release()


def _syncs(
    account: AwsAccount, region: str, triggered_by: str, turn: _AwsTurn
) -> tuple[SyncRun | None, SyncRun | None]:
    """The inventory and the alarm sync of a key, at the same time: each is mostly waiting for AWS, and
    neither reads what the other writes. The inventory runs in a thread on a connection of its own, so not
    inside a caller's open transaction, whose rows another connection cannot see."""
    key = {"account": account, "region": region, "triggered_by": triggered_by, "turn": turn}
    if connections["default"].in_atomic_block:
        resources = sync_resources(**key)
        return resources, sync_alarms(**key)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inventory") as pool:
        resources = pool.submit(_own_connections, sync_resources, **key)
        alarms = sync_alarms(**key)
        return resources.result(), alarms


def catalog_refresh(
    *, account: AwsAccount, region: str, triggered_by: str = "manual", turns: threading.Semaphore | None = None
) -> RefreshResult:
    """``turns``, when given, bounds how many keys call AWS at once: the key holds one while its syncs read
    AWS, not while they claim their runs, write, link or apply the rules (see catalog_refresh_all)."""
    with _AwsTurn(turns) as turn:
        resources, alarms = _syncs(account, region, triggered_by, turn)
    if alarms is None or alarms.status != SyncStatus.SUCCEEDED:
        return RefreshResult(resources, alarms, None, 0)
    # Before links and rules: a replaced alarm's successor takes over its governance, then rules fill the rest.
    replacements_link(account=account, region=region)
    suggestions_refresh(account=account, region=region)  # after a new metric library; one query otherwise
    inputs = _unchanged_inputs(account, region, resources, alarms)
    if inputs:
        _remember(account, region, resources, alarms, inputs)
        return RefreshResult(resources, alarms, None, 0, skipped=True)
    links = links_refresh(account=account, region=region)
    discovered = catalog_discover(account=account, region=region)  # reads the links: inherited tags
    if discovered.as_json():
        alarms.discovery = discovered.as_json()
        alarms.save(update_fields=["discovery"])
    try:
        reassigned = rules_apply(account=account, region=region)
    except ValidationError as exc:  # the rules ran past their time limit: the synced catalog stands
        logger.warning("rules of %s/%s not applied: %s", account.account_id, region, " ".join(exc.messages))
        return RefreshResult(resources, alarms, links, 0)  # not remembered: the next refresh tries again
    _remember(account, region, resources, alarms, ownership_inputs_fingerprint())
    return RefreshResult(resources, alarms, links, reassigned)


def catalog_refresh_all(
    *, targets: list[tuple[AwsAccount, str]], triggered_by: str, jobs: int = 1
) -> Iterator[RefreshResult]:
    """Refresh many keys, ``jobs`` keys reading AWS at a time, results in the order of ``targets``.

    Keys are independent: while one waits for AWS another writes to the database, as the Celery workers'
    tasks do. Each of the ``jobs`` turns to read AWS is handed on as soon as a key's syncs have made their
    last AWS call, so the next key's AWS calls overlap this key's writes, links and rules, database work
    only: never more than ``jobs`` keys call AWS at once."""
    if len(targets) <= 1 or connections["default"].in_atomic_block:  # other threads could not see its rows
        for account, region in targets:
            yield catalog_refresh(account=account, region=region, triggered_by=triggered_by)
        return

    turns = threading.BoundedSemaphore(max(jobs, 1))

    def refresh(target: tuple[AwsAccount, str]) -> RefreshResult:
        return _own_connections(
            catalog_refresh, account=target[0], region=target[1], triggered_by=triggered_by, turns=turns
        )

    with ThreadPoolExecutor(max_workers=max(jobs, 1) + 1, thread_name_prefix="refresh") as pool:
        yield from pool.map(refresh, targets)
