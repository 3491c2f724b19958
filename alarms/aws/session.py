"""Sessions and clients: how the portal acts inside each AWS account and region.

Creating a boto3 session or client loads service models from disk, which costs more than the call it
serves; both are cached. A session (with its clients and the account its credentials belong to) is kept
per credentials: the process's own, or an assumed role until shortly before its credentials expire.
Clients are kept per (region, service) inside their session's entry, so fresh credentials bring fresh
clients. ``AWS_ENDPOINT_URL`` and the process's access key are part of the key, so pointing the process
at another (local) AWS never reuses a client of the previous one.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp
from django.conf import settings

from alarms.aws.paging import RoleAssumeFailed, WrongAccount, call_with_backoff, error_text


@dataclass(frozen=True)
class AccountAccess:
    """How to reach one account: directly with the process's credentials, or through a role.

    The external id is a shared secret: it is kept out of ``repr`` so that it never reaches a log line."""

    account_id: str
    role_arn: str = ""
    external_id: str = field(default="", repr=False)


@dataclass
class _Credentials:
    """One set of credentials: its session, the clients made from it, and whose account it acts in."""

    session: boto3.Session
    expires_at: datetime | None = None
    clients: dict[tuple[str, str], object] = field(default_factory=dict)
    account_id: str = ""

    def fresh(self) -> bool:
        if self.expires_at is None:
            return True
        return (self.expires_at - datetime.now(UTC)).total_seconds() > _ROLE_REFRESH_MARGIN_SECONDS


_CREDENTIALS: dict[tuple, _Credentials] = {}
# Sessions are not thread-safe; creating sessions and clients happens under this lock. Clients are.
_LOCK = threading.RLock()
_ROLE_REFRESH_MARGIN_SECONDS = 300


def client_config() -> Config:
    return Config(
        retries={"mode": "adaptive", "max_attempts": settings.OKAMI_AWS_MAX_ATTEMPTS},
        user_agent_extra="okami",
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=20,
    )


def utc_timestamp(value) -> datetime:
    """Timestamps in AWS answers as UTC datetimes. botocore's default gives epoch timestamps (the JSON
    protocols') the local zone, a Python tzinfo whose offset every comparison, conversion and database write
    works out again: a sync of thousands of alarms spent more on that than on their timestamps' parsing."""
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass  # out of the platform's range: botocore's own fallback
    return parse_timestamp(value).astimezone(UTC)


def _session(**credentials) -> boto3.Session:
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=utc_timestamp)
    return boto3.Session(botocore_session=core, **credentials)


def _environment() -> tuple[str, str]:
    """What of the process's environment decides where calls go and as whom, besides a role."""
    return os.environ.get("AWS_ENDPOINT_URL", ""), os.environ.get("AWS_ACCESS_KEY_ID", "")


def _credentials(access: AccountAccess) -> _Credentials:
    """The cached credentials entry for the access (call with the lock held)."""
    key = (_environment(), access.role_arn, access.external_id)
    entry = _CREDENTIALS.get(key)
    if entry is not None and entry.fresh():
        return entry
    entry = _Credentials(_session()) if not access.role_arn else _assume_role(access)
    _CREDENTIALS[key] = entry
    return entry


def _assume_role(access: AccountAccess) -> _Credentials:
    params = {"RoleArn": access.role_arn, "RoleSessionName": "okami-sync", "DurationSeconds": 3600}
    if access.external_id:
        params["ExternalId"] = access.external_id
    sts = _client(_credentials(AccountAccess(access.account_id)), "sts", None)
    try:
        credentials = sts.assume_role(**params)["Credentials"]
    except (ClientError, BotoCoreError) as exc:
        text = error_text(exc) if isinstance(exc, ClientError) else str(exc)
        raise RoleAssumeFailed(f"cannot assume {access.role_arn}: {text}") from exc
    session = _session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return _Credentials(session, expires_at=credentials["Expiration"])


def _client(entry: _Credentials, service: str, region: str | None):
    made = entry.clients.get((service, region or ""))
    if made is None:
        made = entry.session.client(service, region_name=region, config=client_config())
        entry.clients[(service, region or "")] = made
    return made


def session_for(access: AccountAccess) -> boto3.Session:
    """A session acting in the account: assumed-role credentials, cached until shortly before expiry."""
    with _LOCK:
        return _credentials(access).session


def client(service: str, *, access: AccountAccess, region: str):
    """A boto3 client for one service in one (account, region), made once per credentials."""
    with _LOCK:
        return _client(_credentials(access), service, region)


def caller_account(access: AccountAccess, region: str) -> str:
    """The account the access's credentials act in, by STS GetCallerIdentity, asked once per credentials."""
    with _LOCK:
        entry = _credentials(access)
        if entry.account_id:
            return entry.account_id
        sts = _client(entry, "sts", region)
    identity = call_with_backoff(sts.get_caller_identity)
    with _LOCK:
        entry.account_id = identity["Account"]
    return entry.account_id


def verify_account(access: AccountAccess, region: str) -> None:
    """Fail unless the credentials used for the account really act in it: an empty role falls back to the
    portal's own identity, and a stray endpoint or role answers for another account."""
    actual = caller_account(access, region)
    if actual != access.account_id:
        raise WrongAccount(f"credentials for account {access.account_id} act in account {actual}")


def forget_sessions() -> None:
    """Drop cached sessions and clients (tests, or after an account's role changes)."""
    with _LOCK:
        _CREDENTIALS.clear()
