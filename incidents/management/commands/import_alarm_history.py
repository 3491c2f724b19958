import sys

from django.core.management.base import BaseCommand, CommandError

from alarms.models import AwsAccount
from incidents.services.history import history_import


class Command(BaseCommand):
    help = (
        "Import saved alarm history: JSON lines of DescribeAlarmHistory items (as `aws cloudwatch "
        "describe-alarm-history` prints them), from a file or - for standard input."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account-id", required=True)
        parser.add_argument("--region", required=True)
        parser.add_argument("path", help="A file of JSON lines, or - for standard input.")

    def handle(self, *args, account_id, region, path, **options):
        account = AwsAccount.objects.filter(account_id=account_id).first()
        if account is None:
            raise CommandError(f"No account {account_id}: register it first (aws_account_add).")
        try:
            lines = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        with lines:
            added, skipped = history_import(account=account, region=region, lines=lines)
        self.stdout.write(f"{added} state changes added, {skipped} lines skipped (not state updates or not JSON)")
