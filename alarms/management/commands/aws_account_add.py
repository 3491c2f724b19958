from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from alarms.services.accounts import aws_account_register


class Command(BaseCommand):
    help = "Register (or update) an AWS account to sync, with the role the portal assumes in it."

    def add_arguments(self, parser):
        parser.add_argument("--account-id", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--role-arn", default="")
        parser.add_argument("--external-id", default="")
        parser.add_argument("--regions", required=True, help="Comma-separated region codes.")

    def handle(self, *args, **options):
        regions = [r.strip() for r in options["regions"].split(",") if r.strip()]
        try:
            account = aws_account_register(
                account_id=options["account_id"],
                name=options["name"],
                regions=regions,
                role_arn=options["role_arn"],
                external_id=options["external_id"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"Registered {account} for {', '.join(account.regions)}")
