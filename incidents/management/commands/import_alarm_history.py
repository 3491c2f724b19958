import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from alarms.models import AwsAccount
from incidents.services.history import history_import


class Command(BaseCommand):
    help = (
        "Import saved alarm history: what `aws cloudwatch describe-alarm-history --output json` prints, or "
        "JSON lines of its items, from a file or - for standard input."
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
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        added, skipped = history_import(account=account, region=region, lines=history_lines(text))
        self.stdout.write(f"{added} state changes added, {skipped} items skipped (not state updates or not JSON)")


def history_lines(text: str) -> list[str]:
    """One item per line: the CLI's document (``{"AlarmHistoryItems": [...]}``) split into its items, or
    the text's own lines."""
    try:
        document = json.loads(text)
    except ValueError:
        return text.splitlines()
    if isinstance(document, dict) and isinstance(document.get("AlarmHistoryItems"), list):
        return [json.dumps(item) for item in document["AlarmHistoryItems"]]
    return text.splitlines()
