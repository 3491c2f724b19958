"""The portal's own cached CloudWatch client for an account, with botocore's Stubber in front of it: for what
the local AWS cannot answer (anomaly bands, paging, refusals)."""

from contextlib import contextmanager

from botocore.stub import Stubber

from alarms import aws


@contextmanager
def stubbed_cloudwatch(monkeypatch, *, account_id: str, region: str):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "stub")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.forget_sessions()
    stubber = Stubber(aws.client("cloudwatch", access=aws.AccountAccess(account_id), region=region))
    stubber.activate()
    try:
        yield stubber
    finally:
        stubber.deactivate()
        aws.forget_sessions()
