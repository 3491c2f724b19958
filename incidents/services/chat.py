"""Chat: a page-tier alert announced in its owner team's channel, its message kept up to date, further alerts
of its incident in that message's thread, a daily digest of ticket-tier alerts per team, a team's weekly
budget of page notifications, and a test message.

Posting is at most once per alert. The alert's ``ChatPost`` row is claimed (inserted, and committed) before
the API call; the database allows one per alert, so a second task, a retried task or a redelivered one finds
the claim and stops. A call that certainly did not happen (Slack's 429 with Retry-After, a 5xx, a refused
connection) releases the claim and the task tries again later; one that may have happened (no answer) or was
refused leaves the claim ``failed``: a missing message is better than a double page. A worker that dies
between the claim and the call leaves it ``sending`` for good, for the same reason.

Every call to the chat happens outside any transaction: a slow or absent Slack never holds a lock nor delays
ingest, which only enqueues tasks after its commit (incidents.chat.events).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from alarms.choices import Tier
from alarms.models import Team
from incidents.chat import messages
from incidents.chat.notifier import ChatError, Posted, notifier
from incidents.models import Alert, ChatDigest, ChatPost, ChatPostStatus, Incident
from incidents.services.team_chat import default_digest_time

logger = logging.getLogger("okami.chat")

ERROR_MAX = 1000
# A message of the incident being posted right now: wait for it, to reply in its thread.
THREAD_WAIT_SECONDS = 3
# ... unless its claim is older than this (its worker died): then this alert gets a message of its own.
SENDING_STALE_SECONDS = 120
# A refresh holds its message this long at most (the Slack client's own timeout is 10 s).
REFRESH_LOCK_SECONDS = 30
DIGEST_HOURS = 24


@dataclass(frozen=True)
class Budget:
    """A team's page notifications this week against what it accepts."""

    used: int
    limit: int


def _alerts():
    return Alert.objects.select_related(
        "alarm__service", "alarm__account", "alarm__owner_team", "outcome_by", "acknowledged_by", "incident"
    )


def _fresh(alert: Alert, now: datetime) -> bool:
    return alert.opened_at >= now - timedelta(seconds=settings.OKAMI_CHAT_FRESH_SECONDS)


def _not_announced(alert: Alert, now: datetime) -> str:
    """Why this alert gets no message of its own, or ""."""
    alarm = alert.alarm
    if alarm.tier != Tier.PAGE:
        return "not page tier"
    if not alarm.actions_enabled:
        return "actions disabled"
    if not alert.is_open:
        return "closed"
    if not _fresh(alert, now):
        return "not fresh"
    return ""


def _channel(alert: Alert) -> str:
    team = alert.alarm.owner_team
    return team.chat_channel if team is not None and team.chat_channel else settings.OKAMI_CHAT_FALLBACK_CHANNEL


def _claim(alert: Alert, now: datetime) -> ChatPost | None:
    """Insert the alert's post, committed, with where it goes: the thread of its incident's message if there
    is one, else its channel. None when the alert has its post already. The incident's row lock makes the
    alerts of one incident claim one after another, so only the first gets a message of its own."""
    with transaction.atomic():
        thread = None
        if alert.incident_id:
            list(Incident.objects.select_for_update().filter(pk=alert.incident_id).values_list("pk"))
            # The thread of the same team's message only: another team's alarm in the incident tells its own team.
            thread = (
                ChatPost.objects.filter(
                    alert__incident_id=alert.incident_id,
                    thread_ts="",
                    alert__alarm__owner_team_id=alert.alarm.owner_team_id,
                )
                .exclude(alert_id=alert.pk)
                .exclude(status=ChatPostStatus.FAILED)
                .filter(
                    Q(status=ChatPostStatus.POSTED) | Q(claimed_at__gte=now - timedelta(seconds=SENDING_STALE_SECONDS))
                )
                .order_by("claimed_at", "pk")
                .first()
            )
            if thread is not None and thread.status == ChatPostStatus.SENDING:
                raise ChatError("the incident's message is being posted", retry_after=THREAD_WAIT_SECONDS)
        try:
            with transaction.atomic():
                return ChatPost.objects.create(
                    alert=alert,
                    channel=thread.channel if thread else _channel(alert),
                    thread_ts=thread.ts if thread else "",
                    status=ChatPostStatus.SENDING,
                    claimed_at=now,
                )
        except IntegrityError:
            return None


def announcements_missing(*, now: datetime | None = None) -> list[int]:
    """Fresh, open alerts of page-tier alarms with actions enabled that have no message nor claim: their task
    was lost (a broker down at commit) or gave up (Slack down longer than its retries). Beat queues them again;
    the claim keeps that from ever posting twice. Past the freshness window an alert is no longer news."""
    now = now or timezone.now()
    return list(
        Alert.objects.filter(
            closed_at__isnull=True,
            opened_at__gte=now - timedelta(seconds=settings.OKAMI_CHAT_FRESH_SECONDS),
            alarm__tier=Tier.PAGE,
            alarm__actions_enabled=True,
        )
        .exclude(Exists(ChatPost.objects.filter(alert=OuterRef("pk"))))
        .order_by("opened_at")
        .values_list("pk", flat=True)
    )


def alert_announce(*, alert_id: int, now: datetime | None = None) -> str:
    """Post the alert's message if it is a fresh, open alert of a page-tier alarm with actions enabled, once.
    Returns what happened; raises ``ChatError`` with ``retry_after`` when the task should try again then."""
    now = now or timezone.now()
    alert = _alerts().filter(pk=alert_id).first()
    if alert is None:
        return "gone"
    why_not = _not_announced(alert, now)
    if why_not:
        return why_not
    post = _claim(alert, now)
    if post is None:
        return "already"
    if post.thread_ts:
        message = messages.thread_message(alert, base_url=settings.OKAMI_BASE_URL)
    else:
        message = messages.alert_message(alert, budget=_alert_budget(alert, now), base_url=settings.OKAMI_BASE_URL)
    try:
        posted = notifier().post(channel=post.channel, message=message, thread_ts=post.thread_ts)
    except ChatError as error:
        if error.retry_after is not None and not error.maybe_delivered:
            post.delete()  # it did not happen: the next try claims again
            raise
        post.status, post.error = ChatPostStatus.FAILED, str(error)[:ERROR_MAX]
        post.save(update_fields=["status", "error"])
        logger.warning("alert %s not posted to %s: %s", alert_id, post.channel, error)
        return "failed"
    post.channel, post.ts, post.status, post.posted_at = posted.channel, posted.ts, ChatPostStatus.POSTED, now
    post.save(update_fields=["channel", "ts", "status", "posted_at"])
    return "posted"


def _alert_budget(alert: Alert, now: datetime) -> Budget | None:
    team = alert.alarm.owner_team
    return team_budget(team=team, now=now) if team is not None else None


def alert_message_refresh(*, alert_id: int, now: datetime | None = None) -> str:
    """Edit the alert's posted message to show where it stands now. Raises ``ChatError`` with
    ``retry_after`` when the task should try again then (also while the message is still being posted)."""
    now = now or timezone.now()
    post = ChatPost.objects.filter(alert_id=alert_id).first()
    if post is None or post.status == ChatPostStatus.FAILED:
        return "not posted"
    if post.status == ChatPostStatus.SENDING:
        if post.claimed_at < now - timedelta(seconds=SENDING_STALE_SECONDS):
            return "not posted"
        raise ChatError("the message is being posted", retry_after=THREAD_WAIT_SECONDS)
    # One refresh of a message at a time: each renders what stands when it runs, so the last to run shows the
    # latest state; two at once could land in the other order and leave an older one showing.
    lock = f"okami:chat-refresh:{alert_id}"
    if not cache.add(lock, 1, timeout=REFRESH_LOCK_SECONDS):
        raise ChatError("the message is being updated", retry_after=THREAD_WAIT_SECONDS)
    try:
        alert = _alerts().get(pk=alert_id)
        if post.thread_ts:
            message = messages.thread_message(alert, base_url=settings.OKAMI_BASE_URL)
        else:
            budget = _alert_budget(alert, now)
            message = messages.alert_message(alert, budget=budget, base_url=settings.OKAMI_BASE_URL)
        notifier().update(channel=post.channel, ts=post.ts, message=message)
    except ChatError as error:
        if error.retry_after is not None:
            raise
        post.error = str(error)[:ERROR_MAX]
        post.save(update_fields=["error"])
        logger.warning("message of alert %s not updated: %s", alert_id, error)
        return "failed"
    finally:
        cache.delete(lock)
    post.updated_at, post.error = now, ""
    post.save(update_fields=["updated_at", "error"])
    return "updated"


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of ``now``'s ISO week, in the portal's time zone."""
    local = timezone.localtime(now)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime.combine(monday, time.min, tzinfo=local.tzinfo)


def team_budget(*, team: Team, now: datetime) -> Budget:
    """The team's page notifications this ISO week (alerts of its page-tier alarms with actions enabled that
    opened since Monday 00:00) against its weekly budget. One query."""
    used = (
        Alert.objects.filter(
            alarm__owner_team=OuterRef("pk"),
            alarm__tier=Tier.PAGE,
            alarm__actions_enabled=True,
            opened_at__gte=week_start(now),
            opened_at__lte=now,
        )
        .values("alarm__owner_team")
        .annotate(n=Count("pk"))
        .values("n")
    )
    row = (
        Team.objects.filter(pk=team.pk)
        .annotate(used=Coalesce(Subquery(used), 0))
        .values_list("used", "alert_policy__weekly_page_budget")
        .first()
    )
    used_count, limit = row if row is not None else (0, None)
    return Budget(used=used_count, limit=limit or settings.OKAMI_PAGE_BUDGET)


def digests_send(*, now: datetime | None = None) -> int:
    """Post each team's daily digest once its digest time passed today (the portal's time zone): the ticket-tier
    alerts of its alarms (actions enabled: a muted alarm notifies nobody) that opened in the last 24 hours, by
    alarm. Teams without a chat channel get none. The day's ``ChatDigest`` row is claimed first, so a digest
    goes out once a day at most; an empty one is recorded without a post (``alerts`` 0), so the team is not
    looked at again that day. A refused or unanswered post keeps its row (no second try that day); a call that
    certainly did not happen releases it for the next run. Returns how many digests were posted."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    day = local.date()
    teams = (
        Team.objects.exclude(chat_channel="")
        .annotate(sent=Exists(ChatDigest.objects.filter(team=OuterRef("pk"), day=day)))
        .filter(sent=False)
        .select_related("alert_policy")
        .order_by("pk")
    )
    default_time = default_digest_time()
    due = [team for team in teams if local.time() >= (_digest_time(team) or default_time)]
    if not due:
        return 0
    counts = (
        Alert.objects.filter(
            alarm__owner_team__in=[team.pk for team in due],
            alarm__tier=Tier.TICKET,
            alarm__actions_enabled=True,
            opened_at__gte=now - timedelta(hours=DIGEST_HOURS),
            opened_at__lte=now,
        )
        .values_list("alarm__owner_team", "alarm_id", "alarm__name")
        .annotate(count=Count("pk"))
        .order_by()
    )
    rows: dict[int, list[messages.DigestRow]] = {}
    for team_id, alarm_id, name, count in counts:
        url = messages.alarm_url(alarm_id, settings.OKAMI_BASE_URL)
        rows.setdefault(team_id, []).append(messages.DigestRow(name=name, count=count, url=url))
    sent = 0
    for team in due:
        sent += _digest_send(team, rows.get(team.pk, []), day=day, now=now)
    return sent


def _digest_time(team: Team) -> time | None:
    try:
        return team.alert_policy.digest_time
    except ObjectDoesNotExist:
        return None


def _digest_send(team: Team, rows: list[messages.DigestRow], *, day, now: datetime) -> int:
    total = sum(row.count for row in rows)
    try:
        with transaction.atomic():
            digest = ChatDigest.objects.create(team=team, day=day, channel=team.chat_channel, alerts=total, sent_at=now)
    except IntegrityError:
        return 0  # another run has it
    if not rows:
        return 0
    message = messages.digest_message(team, rows, day=day, base_url=settings.OKAMI_BASE_URL)
    try:
        posted = notifier().post(channel=team.chat_channel, message=message)
    except ChatError as error:
        if error.retry_after is not None and not error.maybe_delivered:
            digest.delete()  # it did not happen: the next run (beat) tries again
        logger.warning("digest of %s for %s not posted: %s", team.slug, day, error)
        return 0
    digest.channel, digest.ts = posted.channel, posted.ts
    digest.save(update_fields=["channel", "ts"])
    return 1


def team_test_message(*, team: Team, actor) -> Posted:
    """Post a test message to the team's channel, to check it is right and the app is in it. Raises
    ``ValidationError`` on ``chat_channel`` when the team has none, and ``ChatError`` when the chat refused."""
    if not team.chat_channel:
        raise ValidationError({"chat_channel": "Set the team's chat channel first."})
    posted = notifier().post(channel=team.chat_channel, message=messages.test_message(team))
    logger.info("test message to %s for team %s by %s", team.chat_channel, team.slug, getattr(actor, "pk", None))
    return posted
