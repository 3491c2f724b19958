from django.core.management.base import BaseCommand, CommandError

from alarms.choices import SyncStatus
from alarms.services.sync import sync_alarms, sync_targets


class Command(BaseCommand):
    help = "Sync alarms from AWS now, synchronously, and print a summary per (account, region)."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Only this AWS account id.")
        parser.add_argument("--region", help="Only this region.")

    def handle(self, *args, account=None, region=None, **options):
        targets = sync_targets(account_id=account, region=region)
        if not targets:
            raise CommandError("Nothing to sync: no enabled account matches (see aws_account_add).")
        header = f"{'account':<14}{'region':<16}{'status':<11}{'created':>8}{'updated':>8}"
        header += f"{'same':>8}{'deleted':>8}{'calls':>7}{'ms':>8}"
        self.stdout.write(header)
        failed = 0
        for target_account, target_region in targets:
            run = sync_alarms(account=target_account, region=target_region, triggered_by="command")
            if run is None:
                self.stdout.write(f"{target_account.account_id:<14}{target_region:<16}skipped: already running")
                continue
            failed += run.status == SyncStatus.FAILED
            line = f"{target_account.account_id:<14}{target_region:<16}{run.status:<11}{run.created:>8}"
            line += f"{run.updated:>8}{run.unchanged:>8}{run.deleted:>8}{run.api_calls:>7}{run.duration_ms:>8}"
            self.stdout.write(line)
            if run.error:
                self.stderr.write(f"  error: {run.error}")
        if failed:
            raise CommandError(f"{failed} of {len(targets)} syncs failed")
