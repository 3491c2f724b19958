"""Celery tasks of the ingest: take ids, call one service."""

from celery import shared_task

from incidents.services.ingest import inbound_sweep


@shared_task(acks_late=True, ignore_result=True)
def inbound_sweep_task() -> int:
    """Everything pending: woken by the webhooks, and on beat for what arrived while the broker was down."""
    return inbound_sweep()


@shared_task(acks_late=True, ignore_result=True)
def history_backfill_all() -> int:
    """Beat, daily: one backfill task per enabled (account, region)."""
    from alarms.services.sync import sync_targets

    targets = sync_targets()
    for account, region in targets:
        history_backfill_task.delay(account.pk, region)
    return len(targets)


@shared_task(acks_late=True, ignore_result=True)
def history_backfill_task(account_pk: int, region: str) -> str:
    from alarms.models import AwsAccount
    from incidents.services.history import history_backfill

    account = AwsAccount.objects.filter(pk=account_pk, enabled=True).first()
    if account is None:
        return "account gone or disabled"
    run = history_backfill(account=account, region=region)
    return run.status if run else "already running"


@shared_task(acks_late=True, ignore_result=True)
def incidents_close_task() -> int:
    """Beat, every minute: group the alerts whose alarm got its service since they opened, and close the
    incidents whose quiet period passed."""
    from incidents.services.grouping import alerts_group_pending, incidents_close

    alerts_group_pending()
    return incidents_close()


@shared_task(acks_late=True, ignore_result=True)
def outcomes_infer_task() -> int:
    """Beat: label the untouched alerts past the grace period transient or duplicate."""
    from incidents.services.inference import outcomes_infer

    result = outcomes_infer()
    return result.transient + result.duplicate


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=3, soft_time_limit=30, time_limit=60)
def chat_ephemeral_task(self, channel: str, user: str, text: str) -> str:
    """A reply only the clicker sees (incidents.services.chat_actions), sent after Slack got its answer."""
    from incidents.chat.notifier import ChatError, notifier

    try:
        notifier().ephemeral(channel=channel, user=user, text=text)
    except ChatError as error:
        if error.retry_after is not None and self.request.retries < self.max_retries:
            raise self.retry(countdown=error.retry_after) from error
        return f"not sent: {error}"
    return "sent"


# --- Chat: each task calls one service; a ChatError with retry_after (Slack's Retry-After, a 5xx, no
# connection) is retried then, in the queue rather than in a sleeping worker, a few times. ---
CHAT_MAX_RETRIES = 8


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=CHAT_MAX_RETRIES, soft_time_limit=60,
             time_limit=90)  # fmt: skip
def chat_alert_announce_task(self, alert_id: int) -> str:
    """Post a page-tier alert's message once (the service claims it first)."""
    from incidents.chat.notifier import ChatError
    from incidents.services.chat import alert_announce

    try:
        return alert_announce(alert_id=alert_id)
    except ChatError as error:
        if error.retry_after is None:
            raise
        raise self.retry(exc=error, countdown=error.retry_after) from error


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=CHAT_MAX_RETRIES, soft_time_limit=60,
             time_limit=90)  # fmt: skip
def chat_alert_refresh_task(self, alert_id: int) -> str:
    """Edit an alert's message to show where it stands now."""
    from incidents.chat.notifier import ChatError
    from incidents.services.chat import alert_message_refresh

    try:
        return alert_message_refresh(alert_id=alert_id)
    except ChatError as error:
        if error.retry_after is None:
            raise
        raise self.retry(exc=error, countdown=error.retry_after) from error


@shared_task(acks_late=True, ignore_result=True)
def chat_digests_task() -> int:
    """Beat, every few minutes: post the daily digests that are due."""
    from incidents.services.chat import digests_send

    return digests_send()


@shared_task(acks_late=True, ignore_result=True)
def chat_announce_sweep_task() -> int:
    """Beat, every minute: queue again the announcements of fresh page alerts that have none."""
    from incidents.services.chat import announcements_missing

    missing = announcements_missing()
    for alert_id in missing:
        chat_alert_announce_task.delay(alert_id)
    return len(missing)
