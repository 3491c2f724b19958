"""Registering the AWS accounts the portal reads."""

from __future__ import annotations

from django.db import transaction

from alarms.models import AwsAccount
from alarms.services.audit import Change, audit_record


def aws_account_register(
    *,
    account_id: str,
    name: str,
    regions: list[str],
    role_arn: str = "",
    external_id: str = "",
    write_role_arn: str | None = None,
    write_external_id: str = "",
    actor=None,
) -> AwsAccount:
    """Create the account, or update it if the id is known. Validates the id, regions and role ARNs.

    The write role (for applying review decisions) is left as it is when ``write_role_arn`` is None."""
    with transaction.atomic():
        account = AwsAccount.objects.select_for_update().filter(account_id=account_id).first()
        before = _snapshot(account) if account else {}
        account = account or AwsAccount(account_id=account_id)
        account.name = name
        account.regions = sorted(set(regions))
        account.role_arn = role_arn
        account.external_id = external_id
        if not account.registered:  # known so far only from its alerts
            account.registered = account.enabled = True
        if write_role_arn is not None:
            account.write_role_arn = write_role_arn
            account.write_external_id = write_external_id
        account.full_clean()
        account.save()
        audit_record(
            actor=actor,
            action="aws_account.register",
            changes=[
                Change(alarm_id=None, target=f"aws-account:{account_id}", before=before, after=_snapshot(account))
            ],
        )
    return account


def _snapshot(account: AwsAccount) -> dict:
    # The external id is a shared secret with the customer's role trust policy: never copied to the audit.
    return {
        "name": account.name,
        "regions": list(account.regions),
        "role_arn": account.role_arn,
        "external_id_set": bool(account.external_id),
        "write_role_arn": account.write_role_arn,
        "write_external_id_set": bool(account.write_external_id),
        "enabled": account.enabled,
    }
