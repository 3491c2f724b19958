from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alarms.models import Team
from alarms.review.services.workflow import iso_week, review_item_counts, review_open, teams_with_alarms


class Command(BaseCommand):
    help = "Open the weekly review of every team with alarms (or of one team) for this week or the one named."

    def add_arguments(self, parser):
        parser.add_argument("--team", help="Only this team (its slug).")
        parser.add_argument("--week", help="The ISO week, YYYY-Www (default: this week).")

    def handle(self, *args, team=None, week=None, **options):
        now = timezone.now()
        try:
            week = iso_week(week if week is not None else now)
        except ValueError as error:
            raise CommandError(f"--week {week!r}: {error}") from None
        if team is not None:
            teams = list(Team.objects.filter(slug=team))
            if not teams:
                raise CommandError(f"--team {team!r}: no team has this slug.")
        else:
            teams = list(teams_with_alarms())
            if not teams:
                self.stdout.write("No team owns alarms: no review to open.")
                return
        for each in teams:
            review, created = review_open(team=each, week=week, now=now)
            counts = review_item_counts(review=review)
            status = "opened" if created else "already open"
            detail = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items())) or "no candidates"
            self.stdout.write(f"{each.slug} {week}: {status}, {sum(counts.values())} items ({detail})")
