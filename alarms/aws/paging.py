"""Paging, call counting and throttling backoff, shared by every AWS list call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

logger = logging.getLogger(__name__)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)


class AwsError(Exception):
    """An AWS call failed for good. The message is for administrators (it may name a role ARN); ``summary``
    is what every user may see."""

    summary = "AWS refused a request"


class AwsThrottled(AwsError):
    summary = "AWS throttled the sync"


class RoleAssumeFailed(AwsError):
    summary = "could not assume the account's role"


class WrongAccount(AwsError):
    """The credentials, or what AWS answered, belong to another account or region than the one synced."""

    summary = "credentials belong to another account"


class ForeignArn(WrongAccount):
    summary = "AWS answered with another account's or region's alarms or resources"


def error_summary(exc: BaseException) -> str:
    """What every user may see of an error met while talking to AWS: never a role ARN or an external id."""
    if isinstance(exc, AwsError):
        return exc.summary
    if isinstance(exc, ClientError):
        return AwsError.summary
    if isinstance(exc, BotoCoreError):
        return "could not reach AWS"
    return "internal error"


def arn_account_region(arn: str) -> tuple[str, str]:
    """(account, region) of an ARN, ``arn:partition:service:region:account:resource``; blanks where the
    service leaves them out (S3 buckets, API Gateway)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "", ""
    return parts[4], parts[3]


def verify_arns(arns, *, account_id: str, region: str, what: str) -> None:
    """Fail if any ARN names another account or region than the key's (blank parts are not checked)."""
    for arn in arns:
        arn_account, arn_region = arn_account_region(arn)
        if (arn_account and arn_account != account_id) or (arn_region and arn_region != region):
            raise ForeignArn(f"{what} {arn} is not in {account_id}/{region}")


@dataclass
class CallCounter:
    """Counts AWS API requests made for one sync run (pages, not items)."""

    calls: int = 0

    def add(self, n: int = 1) -> None:
        self.calls += n


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()


def call_with_backoff(call: Callable[[], dict], *, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Run one AWS call, retrying throttling with exponential backoff; other errors become AwsError."""
    retries = settings.OKAMI_AWS_THROTTLE_RETRIES
    for attempt in range(retries + 1):
        try:
            return call()
        except ClientError as exc:
            if error_code(exc) not in THROTTLING_CODES:
                raise AwsError(error_text(exc)) from exc
            if attempt == retries:
                raise AwsThrottled(error_text(exc)) from exc
            delay = settings.OKAMI_AWS_THROTTLE_BACKOFF_SECONDS * (2**attempt)
            logger.warning("AWS throttled (%s); retrying in %.1fs", error_code(exc), delay)
            sleep(delay)
    raise AssertionError("unreachable")


def pages(
    call: Callable[..., dict],
    token_name: str,
    counter: CallCounter,
    *,
    prefetch: bool = False,
    on_last: Callable[[], None] | None = None,
    **params,
) -> Iterator[dict]:
    """Follow a NextToken-style cursor. ``token_name`` is the request/response key of the cursor.

    With ``prefetch`` the next page is asked for while the caller works on the current one, so that the
    caller's database writes overlap AWS's answer (boto3 clients are thread-safe). ``on_last`` is called once
    the last page has arrived, before it is handed over: no call of this cursor is left to make."""
    return _follow(
        call, counter, params, request_key=token_name, response_key=token_name, prefetch=prefetch, on_last=on_last
    )


def pages_marker(call, counter: CallCounter, **params) -> Iterator[dict]:
    """Lambda answers with NextMarker but is asked with Marker."""
    return _follow(call, counter, params, request_key="Marker", response_key="NextMarker")


def _follow(
    call, counter: CallCounter, params: dict, *, request_key: str, response_key: str, prefetch=False, on_last=None
):
    def fetch(token: str | None) -> dict:
        return call_with_backoff(partial(call, **params, **({request_key: token} if token else {})))

    if not prefetch:
        token = None
        while True:
            page = fetch(token)
            counter.add()
            token = page.get(response_key)
            if not token and on_last:
                on_last()
            yield page
            if not token:
                return
    # One page ahead at most: the order of requests, and of errors, stays that of the pages.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aws-pages") as pool:
        ahead = pool.submit(fetch, None)
        while ahead is not None:
            page = ahead.result()
            counter.add()
            token = page.get(response_key)
            ahead = pool.submit(fetch, token) if token else None
            if ahead is None and on_last:
                on_last()
            yield page
