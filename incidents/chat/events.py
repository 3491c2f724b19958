"""What the chat hears about: alerts that opened, and alerts (or incidents) whose message shows something that
changed. The services that change them call these inside their transaction; the tasks are queued after the
commit, so they read what was committed, and a broker that is down costs a log line, never the caller's
write. The calls are cheap: an opened alert is queued only when it is open and fresh (the task checks the rest),
a change only for the alerts that have a message (one query after the commit)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("okami.chat")


def alerts_opened(alerts: Iterable) -> None:
    """New alerts: announce those that are open and opened recently (an import of old history is not news)."""
    since = timezone.now() - timedelta(seconds=settings.OKAMI_CHAT_FRESH_SECONDS)
    ids = [alert.pk for alert in alerts if alert.closed_at is None and alert.opened_at >= since]
    if ids:
        transaction.on_commit(lambda: _queue_announce(ids))


def alerts_changed(alert_ids: Iterable[int]) -> None:
    """Alerts whose outcome, acknowledgement, closing or incident changed: refresh their messages."""
    ids = sorted(set(alert_ids))
    if ids:
        transaction.on_commit(lambda: _queue_refresh(alert_ids=ids))


def incidents_changed(incident_ids: Iterable[int]) -> None:
    """Incidents that changed (title, impact, merged, split): refresh the messages of their alerts."""
    ids = sorted({pk for pk in incident_ids if pk})
    if ids:
        transaction.on_commit(lambda: _queue_refresh(incident_ids=ids))


def _queue_announce(alert_ids: list[int]) -> None:
    from incidents.models import Alert
    from incidents.tasks import chat_alert_announce_task

    try:
        # One query keeps the queue to what may page: a storm of other alerts costs no task at all.
        paging = Alert.objects.filter(pk__in=alert_ids, alarm__tier="page", alarm__actions_enabled=True)
        for alert_id in sorted(paging.values_list("pk", flat=True)):
            chat_alert_announce_task.delay(alert_id)
    except Exception:
        logger.warning("could not queue the announcement of alerts %s", alert_ids, exc_info=True)


def _queue_refresh(*, alert_ids: list[int] | None = None, incident_ids: list[int] | None = None) -> None:
    from incidents.models import ChatPost, ChatPostStatus
    from incidents.tasks import chat_alert_refresh_task

    try:
        posts = ChatPost.objects.exclude(status=ChatPostStatus.FAILED)
        if alert_ids is not None:
            posts = posts.filter(alert_id__in=alert_ids)
        else:
            # The incident shows on its own message, not on the replies in its thread.
            posts = posts.filter(alert__incident_id__in=incident_ids, thread_ts="")
        for alert_id in sorted(posts.values_list("alert_id", flat=True)):
            chat_alert_refresh_task.delay(alert_id)
    except Exception:
        logger.warning("could not queue the refresh of chat messages", exc_info=True)
