"""Sessions and clients: how the portal acts inside each AWS account and region."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from alarms.aws.paging import AwsError, error_text


@dataclass(frozen=True)
class AccountAccess:
    """How to reach one account: directly with the process's credentials, or through a role.

    The external id is a shared secret: it is kept out of ``repr`` so that it never reaches a log line."""

    account_id: str
    role_arn: str = ""
    external_id: str = field(default="", repr=False)


_ROLE_SESSIONS: dict[tuple[str, str], tuple[boto3.Session, datetime]] = {}
_ROLE_LOCK = threading.Lock()
_ROLE_REFRESH_MARGIN_SECONDS = 300


def client_config() -> Config:
    return Config(
        retries={"mode": "adaptive", "max_attempts": settings.OKAMI_AWS_MAX_ATTEMPTS},
        user_agent_extra="okami",
        connect_timeout=10,
        read_timeout=60,
    )


def session_for(access: AccountAccess) -> boto3.Session:
    """A session acting in the account: assumed-role credentials, cached until shortly before expiry."""
    if not access.role_arn:
        return boto3.Session()
    key = (access.role_arn, access.external_id)
    with _ROLE_LOCK:
        cached = _ROLE_SESSIONS.get(key)
        if cached and (cached[1] - datetime.now(UTC)).total_seconds() > _ROLE_REFRESH_MARGIN_SECONDS:
            return cached[0]
        params = {"RoleArn": access.role_arn, "RoleSessionName": "okami-sync", "DurationSeconds": 3600}
        if access.external_id:
            params["ExternalId"] = access.external_id
        try:
            credentials = boto3.client("sts", config=client_config()).assume_role(**params)["Credentials"]
        except ClientError as exc:
            raise AwsError(f"cannot assume {access.role_arn}: {error_text(exc)}") from exc
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        _ROLE_SESSIONS[key] = (session, credentials["Expiration"])
        return session


def client(service: str, *, access: AccountAccess, region: str):
    """A boto3 client for one service in one (account, region)."""
    return session_for(access).client(service, region_name=region, config=client_config())


def forget_sessions() -> None:
    """Drop cached role sessions (tests, or after an account's role changes)."""
    with _ROLE_LOCK:
        _ROLE_SESSIONS.clear()
