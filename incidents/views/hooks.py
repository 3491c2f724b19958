"""Webhooks: verify, store durably, answer. No login (the signature or the token is the credential); every
refusal is a 4xx with the reason and stores nothing; a database that cannot store answers 503 so that the
sender retries, never a 2xx for a message that was not stored."""

from __future__ import annotations

import hmac
import json
import logging
import urllib.request
from functools import cache

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.ingest.aws_time import aws_time
from incidents.ingest.sns_signature import (
    SIGNED_KEYS,
    CertificateStore,
    SnsSignatureError,
    sns_host_url_problem,
    sns_signature_verify,
)
from incidents.models import InboundMessage, InboundSource, InboundStatus
from incidents.services.ingest import inbound_store
from incidents.views.slack import slack_actions_hook

logger = logging.getLogger(__name__)


def _refuse(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"detail": reason}, status=status)


@cache
def certificates() -> CertificateStore:
    return CertificateStore(settings.SNS_CERT_DIR or None, download=settings.SNS_CERT_DOWNLOAD)


def _json_body(request) -> tuple[dict | None, JsonResponse | None]:
    limit = settings.OKAMI_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None, _refuse(413, f"the body is over {limit} bytes")
    body = request.body
    if len(body) > limit:
        return None, _refuse(413, f"the body is over {limit} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, _refuse(400, "the body is not JSON")
    if not isinstance(data, dict):
        return None, _refuse(400, "the body is not a JSON object")
    return data, None


def _stored(source: str, message_id: str, kind: str, topic_arn: str, body: str) -> JsonResponse:
    try:
        pk, created = inbound_store(source=source, message_id=message_id, kind=kind, topic_arn=topic_arn, body=body)
    except DatabaseError:
        logger.exception("could not store a %s message", source)
        return _refuse(503, "could not store the message; retry")
    return JsonResponse({"stored": True, "duplicate": not created, "id": pk})


@csrf_exempt
@require_POST
def sns_hook(request):
    """SNS HTTP(S) subscription endpoint (the body is JSON sent as text/plain)."""
    message, refused = _json_body(request)
    if refused:
        return refused
    kind = message.get("Type")
    if kind not in SIGNED_KEYS:
        return _refuse(400, "not an SNS message Type")
    topic = message.get("TopicArn")
    if not isinstance(topic, str) or topic not in settings.SNS_ALLOWED_TOPIC_ARNS:
        return _refuse(403, "topic not allowed (SNS_ALLOWED_TOPIC_ARNS)")
    if not isinstance(message.get("MessageId"), str) or not message["MessageId"]:
        return _refuse(400, "MessageId is missing")
    try:
        sns_signature_verify(message, certificates=certificates(), timestamp=aws_time(message.get("Timestamp")))
    except ValueError as exc:  # SnsSignatureError, or a Timestamp that is not one
        reason = str(exc) if isinstance(exc, SnsSignatureError) else "Timestamp is not a timestamp"
        return _refuse(403, f"signature not verified: {reason}")
    response = _stored(InboundSource.SNS, message["MessageId"], kind, topic, request.body.decode())
    if kind == "SubscriptionConfirmation" and response.status_code == 200:
        _confirm_subscription(message)
    return response


def _confirm_subscription(message: dict) -> None:
    """Fetch the SubscribeURL (an SNS host, like the certificate's) and record the outcome on the message."""
    stored = InboundMessage.objects.filter(source=InboundSource.SNS, message_id=message["MessageId"])
    url = message.get("SubscribeURL") or ""
    problem = sns_host_url_problem(url)
    if not settings.SNS_CONFIRM_SUBSCRIPTIONS or problem:
        error = f"not confirmed: SubscribeURL is {problem}" if problem else "not confirmed: confirmation is off"
        stored.update(status=InboundStatus.IGNORED, processed_at=timezone.now(), error=error)
        return
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (https, SNS host checked)
            answer.read(65_536)
    except OSError as exc:
        stored.update(status=InboundStatus.FAILED, processed_at=timezone.now(), error=f"confirmation failed: {exc}")
        return
    stored.update(status=InboundStatus.PROCESSED, processed_at=timezone.now(), error="")


@csrf_exempt
@require_POST
def eventbridge_hook(request):
    """EventBridge API destination: ``Authorization`` must be EVENTBRIDGE_TOKEN."""
    token = settings.EVENTBRIDGE_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if not token:
        return _refuse(403, "EventBridge ingest is not configured (EVENTBRIDGE_TOKEN)")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _refuse(401, "wrong or missing Authorization token")
    event, refused = _json_body(request)
    if refused:
        return refused
    event_id, kind = event.get("id"), event.get("detail-type")
    if not isinstance(event_id, str) or not event_id or not isinstance(kind, str):
        return _refuse(400, "not an EventBridge event (id, detail-type)")
    return _stored(InboundSource.EVENTBRIDGE, event_id, kind, "", request.body.decode())


# The webhook paths, which portal.middleware.WebhookMiddleware sends straight to their views.
HOOKS = {"/hooks/sns/": sns_hook, "/hooks/eventbridge/": eventbridge_hook, "/hooks/slack/actions/": slack_actions_hook}
