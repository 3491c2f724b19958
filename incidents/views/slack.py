"""Slack's interactivity webhook (``POST /hooks/slack/actions/``): verify the signature, record the click,
answer 200 within Slack's 3 seconds. Refusals are 4xx with the reason and record nothing; what the clicker
should read (a refusal of the click itself, an alert that no longer exists) goes back as an ephemeral message."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.services.chat_actions import (
    ChatActionInvalid,
    chat_action_handle,
    chat_action_payload,
    slack_request_problem,
)

logger = logging.getLogger(__name__)


def _refuse(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"detail": reason}, status=status)


@csrf_exempt
@require_POST
def slack_actions_hook(request):
    """Button clicks on the alert messages (form-encoded ``payload``, signed with SLACK_SIGNING_SECRET)."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        return _refuse(403, "Slack actions are not configured (SLACK_SIGNING_SECRET)")
    limit = settings.OKAMI_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit or len(request.body) > limit:
        return _refuse(413, f"the body is over {limit} bytes")
    problem = slack_request_problem(
        body=request.body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
        secret=secret,
    )
    if problem:
        return _refuse(401, f"signature not verified: {problem}")
    try:
        chat_action_handle(payload=chat_action_payload(request.body))
    except ChatActionInvalid as exc:
        return _refuse(400, str(exc))
    except DatabaseError:
        logger.exception("could not record a Slack action")
        return _refuse(503, "could not record the action; try again")
    return HttpResponse(status=200)  # Slack wants an empty 200; the message is updated by a task
