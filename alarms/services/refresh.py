"""One (account, region) brought up to date: inventory, alarms, links, then ownership by the rules.

The order matters: links need both resources and alarms, and rules read the links (alarms without tags
inherit their resource's tags).
"""

from __future__ import annotations

from dataclasses import dataclass

from alarms.choices import SyncStatus
from alarms.models import AwsAccount, SyncRun
from alarms.services.inventory import sync_resources
from alarms.services.links import LinkSummary, links_refresh
from alarms.services.mapping import rules_apply
from alarms.services.sync import sync_alarms


@dataclass(frozen=True)
class RefreshResult:
    resources: SyncRun | None
    alarms: SyncRun | None
    links: LinkSummary | None
    reassigned: int

    @property
    def failed(self) -> bool:
        return any(run is not None and run.status == SyncStatus.FAILED for run in (self.resources, self.alarms))


def catalog_refresh(*, account: AwsAccount, region: str, triggered_by: str = "manual") -> RefreshResult:
    resources = sync_resources(account=account, region=region, triggered_by=triggered_by)
    alarms = sync_alarms(account=account, region=region, triggered_by=triggered_by)
    if alarms is None or alarms.status != SyncStatus.SUCCEEDED:
        return RefreshResult(resources, alarms, None, 0)
    links = links_refresh(account=account, region=region)
    reassigned = rules_apply(account=account, region=region)
    return RefreshResult(resources, alarms, links, reassigned)
