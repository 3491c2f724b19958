"""Buttons clicked in chat: a Slack ``block_actions`` request, verified, becomes an acknowledgement or an outcome
through the same services (and the same audit) as the web. The click is recorded before Slack's 3 seconds are
up; the message is updated by a task (incidents.chat.events), and anything the clicker should read comes back
as an ephemeral message, sent by a task too.

Who clicked: the portal user linked to the Slack user id (ChatIdentity), or the one whose e-mail the payload
carries (the link is stored then). Someone the portal does not know is recorded under their Slack name; a portal
user who may not label the alarm's alerts is refused."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from slack_sdk.signature import Clock, SignatureVerifier

from incidents.chat.messages import inert
from incidents.chat.notifier import ChatError, notifier
from incidents.choices import Outcome
from incidents.models import Alert, ChatIdentity
from incidents.permissions import can_label
from incidents.services.outcomes import alert_acknowledge, alert_outcome_record

logger = logging.getLogger(__name__)

SIGNATURE_WINDOW_SECONDS = 5 * 60
# A click already handled is ignored for longer than a signed request stays acceptable.
REPLAY_SECONDS = 2 * SIGNATURE_WINDOW_SECONDS
EMAIL_CACHE_SECONDS = 24 * 3600
MAX_NAME = 80
ACKNOWLEDGE = "okami_ack"
OUTCOMES = {
    "okami_actioned": Outcome.ACTIONED,
    "okami_customer_impact": Outcome.CUSTOMER_IMPACT,
    "okami_no_action": Outcome.NO_ACTION,
    "okami_transient": Outcome.TRANSIENT,
    "okami_false_positive": Outcome.FALSE_POSITIVE,
}


class ChatActionInvalid(ValueError):
    """The request is not a Slack interaction payload we can read (answered 400)."""


@dataclass(frozen=True)
class ChatActionResult:
    """What came of a click: whether anything was recorded, and the ephemeral reply (empty: none)."""

    recorded: bool
    reply: str = ""


class _FixedClock(Clock):
    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def slack_request_problem(
    *, body: bytes, timestamp: str | None, signature: str | None, secret: str, now: float | None = None
) -> str:
    """Why a request does not carry Slack's v0 signature over ``body`` (empty: it does). The timestamp must be
    within 5 minutes of ``now`` (default: the clock); the comparison is constant-time (slack-sdk's verifier)."""
    if not timestamp or not signature:
        return "X-Slack-Signature or X-Slack-Request-Timestamp is missing"
    if not timestamp.isascii() or not timestamp.isdigit():
        return "X-Slack-Request-Timestamp is not a Unix time"
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return "the request is more than 5 minutes old (or from the future)"
    verifier = SignatureVerifier(secret, clock=_FixedClock(now))
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:
        valid = False
    return "" if valid else "the signature does not match"


def chat_action_payload(body: bytes) -> dict:
    """The JSON ``payload`` field of a form-encoded interaction request."""
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=50)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChatActionInvalid("the body is not a form") from exc
    raw = fields.get("payload")
    if not raw:
        raise ChatActionInvalid("the payload field is missing")
    try:
        payload = json.loads(raw[0])
    except ValueError as exc:
        raise ChatActionInvalid("the payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise ChatActionInvalid("the payload is not a JSON object")
    return payload


def chat_action_handle(*, payload: dict) -> ChatActionResult:
    """Record what a verified ``block_actions`` payload asks for, once, and send its reply (after commit)."""
    if payload.get("type") != "block_actions":
        return ChatActionResult(recorded=False)  # another kind of interaction: not ours to answer
    slack_user, action = payload.get("user"), _first_action(payload)
    if not isinstance(slack_user, dict) or not _text(slack_user.get("id")):
        raise ChatActionInvalid("the payload names no user")
    if action is None:
        raise ChatActionInvalid("the payload carries no action")
    action_id = action.get("action_id")
    if action_id != ACKNOWLEDGE and action_id not in OUTCOMES:
        return ChatActionResult(recorded=False)  # a button of another app or feature
    value = _text(action.get("value"))
    if not value.isascii() or not value.isdigit():
        raise ChatActionInvalid("the action's value is not an alert id")
    user_id, channel = slack_user["id"], _channel(payload)
    replay = f"okami:slack-action:{user_id}:{_text(action.get('action_ts'))}:{action_id}:{value}"
    if not cache.add(replay, 1, timeout=REPLAY_SECONDS):
        return ChatActionResult(recorded=False)  # the same click again: handled already
    try:
        result = _record(alert_id=int(value), action_id=action_id, slack_user=slack_user)
    except Exception:
        cache.delete(replay)
        raise
    if result.reply and channel:
        from incidents.tasks import chat_ephemeral_task

        def reply() -> None:
            try:
                chat_ephemeral_task.delay(channel, user_id, result.reply)
            except Exception:  # a broker that is down costs the reply, never the recorded click
                logger.warning("could not queue the reply to a chat click", exc_info=True)

        transaction.on_commit(reply)
    return result


def _record(*, alert_id: int, action_id: str, slack_user: dict) -> ChatActionResult:
    result = _decide(alert_id=alert_id, action_id=action_id, slack_user=slack_user)
    # Replies quote alarm names, which come from AWS: inert in Slack's markup, like every message.
    return ChatActionResult(recorded=result.recorded, reply=result.reply and inert(result.reply))


def _decide(*, alert_id: int, action_id: str, slack_user: dict) -> ChatActionResult:
    alert = Alert.objects.select_related("alarm__owner_team").filter(pk=alert_id).first()
    if alert is None:
        return ChatActionResult(recorded=False, reply="This alert no longer exists in Okami: nothing was recorded.")
    actor = chat_user_resolve(slack_user)
    name = _slack_name(slack_user)
    if actor is not None and not actor.is_active:
        return ChatActionResult(recorded=False, reply="Your Okami account is disabled: nothing was recorded.")
    if actor is not None and not can_label(actor, alert):
        team = alert.alarm.owner_team.name if alert.alarm.owner_team else "no team"
        return ChatActionResult(
            recorded=False,
            reply=f"Only editors and members of the alarm's owner team ({team}) record what was done about "
            f"{alert.alarm.name}: nothing was recorded.",
        )
    chat_user = "" if actor is not None else name
    if action_id == ACKNOWLEDGE:
        if alert.closed_at is not None:
            return ChatActionResult(
                recorded=False, reply=f"{alert.alarm.name} already recovered: nothing to acknowledge."
            )
        if alert.acknowledged_at is not None:
            return ChatActionResult(recorded=False, reply=f"{alert.alarm.name} was already acknowledged.")
        alert_acknowledge(alert=alert, actor=actor, chat_user=chat_user)
        return ChatActionResult(recorded=True)
    outcome = OUTCOMES[action_id]
    if alert.outcome == outcome and not alert.outcome_inferred:
        # The same label again would only wipe the note someone wrote with it.
        return ChatActionResult(recorded=False, reply=f"{alert.alarm.name} is already labelled {outcome.label}.")
    try:
        alert_outcome_record(alert=alert, outcome=outcome, actor=actor, chat_user=chat_user)
    except ValidationError as exc:
        return ChatActionResult(recorded=False, reply=f"Not recorded: {'; '.join(exc.messages)}")
    if actor is None:
        return ChatActionResult(
            recorded=True,
            reply=f"Recorded as {name}: your Slack account is not linked to an Okami account.",
        )
    return ChatActionResult(recorded=True)


def chat_user_resolve(slack_user: dict):
    """The portal user behind a Slack user: linked by id, or by the e-mail the payload carries (then linked)."""
    slack_id = slack_user["id"]
    identity = ChatIdentity.objects.select_related("user").filter(slack_user_id=slack_id).first()
    if identity is not None:
        return identity.user
    email = _text(slack_user.get("email")) or _looked_up_email(slack_id)
    if "@" not in email:
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    if len(matches) != 1:
        return None  # nobody, or an ambiguous address: not a safe link
    try:
        with transaction.atomic():
            ChatIdentity.objects.create(user=matches[0], slack_user_id=slack_id)
    except IntegrityError:
        # Linked meanwhile by a concurrent click, or the user is linked to another Slack account.
        identity = ChatIdentity.objects.select_related("user").filter(slack_user_id=slack_id).first()
        return identity.user if identity is not None else None
    return matches[0]


def _looked_up_email(slack_id: str) -> str:
    """The Slack user's e-mail (``users.info``, scope ``users:read.email``), remembered for a day; "" when the
    chat does not say. Clicks carry no e-mail: this is how an unlinked user is matched to their account."""
    key = f"okami:slack-email:{slack_id}"
    cached = cache.get(key)
    if cached is None:
        try:
            cached = notifier().user_email(user=slack_id) or ""
        except ChatError:
            return ""  # not remembered: the next click asks again
        cache.set(key, cached, timeout=EMAIL_CACHE_SECONDS)
    return cached


def _first_action(payload: dict) -> dict | None:
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return actions[0]
    return None


def _channel(payload: dict) -> str:
    channel, container = payload.get("channel"), payload.get("container")
    found = channel.get("id") if isinstance(channel, dict) else None
    if not found and isinstance(container, dict):
        found = container.get("channel_id")
    return _text(found)


def _slack_name(slack_user: dict) -> str:
    """A Slack user's name as shown in Okami: printable, short; their id when the payload names nobody."""
    for key in ("username", "name", "id"):
        name = re.sub(r"[\x00-\x1f\x7f]", "", _text(slack_user.get(key))).strip()
        if name:
            return name[:MAX_NAME]
    return "unknown"


def _text(value) -> str:
    return value if isinstance(value, str) else ""
