"""`manage.py aws_account_add`: external ids reach the account without passing through argv or the output."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from alarms.models import AuditEntry, AwsAccount

pytestmark = pytest.mark.django_db

ACCOUNT = ["--account-id", "111111111111", "--name", "shop-prod", "--regions", "eu-west-1"]
ROLE = ["--role-arn", "arn:aws:iam::111111111111:role/OkamiReadOnly"]
WRITE_ROLE = ["--write-role-arn", "arn:aws:iam::111111111111:role/OkamiWrite"]


def add(*args, stdin="", **kwargs) -> str:
    out = io.StringIO()
    call_command("aws_account_add", *ACCOUNT, *args, stdin=io.StringIO(stdin), stdout=out, stderr=out, **kwargs)
    return out.getvalue()


def stored() -> AwsAccount:
    return AwsAccount.objects.get(account_id="111111111111")


def test_external_id_read_from_standard_input_and_never_printed():
    output = add(*ROLE, "--external-id", "-", stdin="s3cret-from-stdin\n")

    assert stored().external_id == "s3cret-from-stdin"
    assert "Registered shop-prod (111111111111)" in output
    assert "s3cret" not in output


def test_external_id_from_the_environment_when_the_option_is_absent(monkeypatch):
    monkeypatch.setenv("OKAMI_EXTERNAL_ID", "s3cret-from-env")

    add(*ROLE)

    assert stored().external_id == "s3cret-from-env"


def test_external_id_on_the_command_line_still_works_and_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("OKAMI_EXTERNAL_ID", "s3cret-from-env")

    add(*ROLE, "--external-id", "s3cret-in-argv")

    assert stored().external_id == "s3cret-in-argv"


def test_empty_standard_input_is_refused():
    with pytest.raises(CommandError, match="standard input"):
        add(*ROLE, "--external-id", "-", stdin="")

    assert not AwsAccount.objects.exists()


def test_write_role_with_its_external_id_from_standard_input(monkeypatch):
    monkeypatch.setenv("OKAMI_EXTERNAL_ID", "read-s3cret")

    output = add(*ROLE, *WRITE_ROLE, "--write-external-id", "-", stdin="write-s3cret\n")

    account = stored()
    assert (account.external_id, account.write_external_id) == ("read-s3cret", "write-s3cret")
    assert account.write_role_arn == "arn:aws:iam::111111111111:role/OkamiWrite"
    assert "write role" in output
    assert "s3cret" not in output
    trail = list(AuditEntry.objects.order_by("id").values_list("action", "before", "after"))
    assert [action for action, _, _ in trail] == ["aws_account.register"]
    assert trail[0][2]["write_role_arn"] == "arn:aws:iam::111111111111:role/OkamiWrite"
    assert trail[0][2]["write_external_id_set"] is True
    assert "s3cret" not in str(trail)


def test_write_external_id_from_the_environment_and_a_rerun_without_write_role_keeps_it(monkeypatch):
    monkeypatch.setenv("OKAMI_WRITE_EXTERNAL_ID", "write-s3cret")
    add(*ROLE, *WRITE_ROLE)

    add(*ROLE)

    assert (stored().write_role_arn, stored().write_external_id) == (
        "arn:aws:iam::111111111111:role/OkamiWrite",
        "write-s3cret",
    )


def test_a_bad_write_role_saves_nothing_and_does_not_echo_the_secret():
    with pytest.raises(CommandError) as refused:
        add(*ROLE, "--write-role-arn", "not-a-role", "--write-external-id", "bad secret with spaces!")

    assert "write_role_arn" in str(refused.value)
    assert "write_external_id" in str(refused.value)
    assert "bad secret" not in str(refused.value)
    assert not AwsAccount.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--external-id", "-", *WRITE_ROLE, "--write-external-id", "-"], "Only one external id"),
        (["--write-external-id", "write-s3cret"], "--write-role-arn"),
    ],
)
def test_ambiguous_options_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        add(*ROLE, *args, stdin="s3cret\n")

    assert not AwsAccount.objects.exists()


def test_the_admin_never_shows_either_external_id(admin_client):
    account = AwsAccount.objects.create(
        account_id="111111111111",
        name="prod",
        regions=["eu-west-1"],
        role_arn="arn:aws:iam::111111111111:role/OkamiRead",
        external_id="read-s3cret",
        write_role_arn="arn:aws:iam::111111111111:role/OkamiWrite",
        write_external_id="write-s3cret",
    )

    page = admin_client.get(f"/admin/alarms/awsaccount/{account.pk}/change/").content.decode()

    assert "OkamiWrite" in page
    assert "s3cret" not in page
