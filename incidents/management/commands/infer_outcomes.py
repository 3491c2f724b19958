from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from incidents.services.inference import outcomes_infer


class Command(BaseCommand):
    help = (
        "Label the untouched alerts older than the grace period transient or duplicate (as the beat task does), "
        "e.g. after a history import. Safe to run again: labelled alerts are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Infer as of this ISO 8601 time (UTC unless it says otherwise).")

    def handle(self, *args, now=None, **options):
        at = None
        if now:
            at = parse_datetime(now)
            if at is None:
                raise CommandError(f"--now: not an ISO 8601 time: {now}")
            if timezone.is_naive(at):
                at = timezone.make_aware(at, UTC)
        result = outcomes_infer(now=at)
        self.stdout.write(f"{result.transient} alerts labelled transient, {result.duplicate} duplicate")
