from django.core.management.base import BaseCommand, CommandError

from alarms.services.refresh import catalog_refresh_all
from alarms.services.sync import sync_targets
from alarms.signals import catalog_synced
from portal.process import tune_for_refresh


class Command(BaseCommand):
    help = "Sync resources and alarms from AWS now, synchronously, and print a summary per (account, region)."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Only this AWS account id.")
        parser.add_argument("--region", help="Only this region.")
        parser.add_argument("--jobs", type=int, default=4, help="Keys reading AWS at a time (default 4).")

    def handle(self, *args, account=None, region=None, jobs=4, **options):
        targets = sync_targets(account_id=account, region=region)
        if not targets:
            raise CommandError("Nothing to sync: no enabled account matches (see aws_account_add).")
        tune_for_refresh()
        header = f"{'account':<14}{'region':<16}{'kind':<11}{'status':<11}{'created':>8}{'updated':>8}"
        header += f"{'same':>8}{'deleted':>8}{'calls':>7}{'ms':>8}"
        self.stdout.write(header)
        failed = 0
        results = catalog_refresh_all(targets=targets, triggered_by="command", jobs=jobs)
        for (target_account, target_region), result in zip(targets, results, strict=True):
            failed += result.failed
            if not result.failed:  # e.g. the alarm history of the key is read next (incidents)
                catalog_synced.send(sender=type(self), account=target_account, region=target_region,
                                    triggered_by="command")  # fmt: skip
            for run in (result.resources, result.alarms):
                if run is None:
                    self.stdout.write(f"{target_account.account_id:<14}{target_region:<16}skipped: already running")
                    continue
                line = f"{run.account.account_id:<14}{run.region:<16}{run.kind:<11}{run.status:<11}{run.created:>8}"
                line += f"{run.updated:>8}{run.unchanged:>8}{run.deleted:>8}{run.api_calls:>7}{run.duration_ms:>8}"
                self.stdout.write(line)
                if run.error:
                    self.stderr.write(f"  error: {run.error}")
                elif run.held_deletions:
                    self.stdout.write(f"  held: {run.error_summary}")
            if result.skipped:
                self.stdout.write(f"{'':<30}links and rules skipped: nothing they read changed")
            if result.links:
                self.stdout.write(
                    f"{'':<30}links: {result.links.resource_links} to resources, {result.links.child_links} to "
                    f"child alarms, {result.links.orphaned} orphaned; {result.reassigned} reassigned by rules"
                )
        if failed:
            raise CommandError(f"{failed} of {len(targets)} syncs failed")
