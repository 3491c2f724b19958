"""Register an AWS account from the command line.

External ids are shared secrets with the customer's role trust policy. A process's argv is readable by every
user of the machine (``ps``) and lands in shell history, so they are best given as ``-`` (read from standard
input) or through OKAMI_EXTERNAL_ID / OKAMI_WRITE_EXTERNAL_ID. ``--external-id VALUE`` still works. The
command never prints an external id.
"""

import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from alarms.services.accounts import aws_account_register

FROM_STDIN = "-"


class Command(BaseCommand):
    help = "Register (or update) an AWS account to sync, with the role the portal assumes in it."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--account-id", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--role-arn", default="")
        parser.add_argument(
            "--external-id",
            default=None,
            help="External id of --role-arn; '-' reads it from standard input. Default: $OKAMI_EXTERNAL_ID.",
        )
        parser.add_argument(
            "--write-role-arn",
            default=None,
            help="Role for applying review decisions (writes to CloudWatch); '' removes it. Absent: unchanged.",
        )
        parser.add_argument(
            "--write-external-id",
            default=None,
            help="External id of --write-role-arn; '-' reads it from standard input. "
            "Default: $OKAMI_WRITE_EXTERNAL_ID.",
        )
        parser.add_argument("--regions", required=True, help="Comma-separated region codes.")

    def handle(self, *args, **options):
        regions = [r.strip() for r in options["regions"].split(",") if r.strip()]
        if options["external_id"] == FROM_STDIN and options["write_external_id"] == FROM_STDIN:
            raise CommandError(
                "Only one external id can come from standard input; give the other in its environment variable "
                "(OKAMI_EXTERNAL_ID or OKAMI_WRITE_EXTERNAL_ID)."
            )
        write_role_arn = options["write_role_arn"]
        if write_role_arn is None and options["write_external_id"] is not None:
            raise CommandError("--write-external-id belongs to a write role: give --write-role-arn too.")
        stdin = options.get("stdin", sys.stdin)
        external_id = _secret(options["external_id"], "OKAMI_EXTERNAL_ID", stdin)
        write_external_id = ""
        if write_role_arn is not None:
            write_external_id = _secret(options["write_external_id"], "OKAMI_WRITE_EXTERNAL_ID", stdin)
        try:
            account = aws_account_register(
                account_id=options["account_id"],
                name=options["name"],
                regions=regions,
                role_arn=options["role_arn"],
                external_id=external_id,
                write_role_arn=write_role_arn,
                write_external_id=write_external_id,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        roles = "read role" + (" and write role" if account.write_role_arn else "")
        self.stdout.write(f"Registered {account} for {', '.join(account.regions)} ({roles})")


def _secret(option: str | None, variable: str, stdin) -> str:
    """The option's value; '-' reads one line of standard input; absent, the environment variable."""
    if option is None:
        return os.environ.get(variable, "").strip()
    if option != FROM_STDIN:
        return option
    value = stdin.readline().strip()
    if not value:
        raise CommandError("An external id was to be read from standard input, which had none.")
    return value
