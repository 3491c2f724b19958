"""Reads of alerts and state changes that span relations; they own select_related and ordering."""

from django.db.models import QuerySet

from incidents.models import Alert, InboundMessage, StateChange


def alert_list() -> QuerySet[Alert]:
    return Alert.objects.select_related("alarm", "alarm__account", "alarm__service", "alarm__owner_team").order_by(
        "-opened_at", "-id"
    )


def alert_state_changes(*, alert: Alert) -> QuerySet[StateChange]:
    """The alarm's state changes from the one that opened the alert to the one that closed it."""
    changes = StateChange.objects.filter(alarm_id=alert.alarm_id, at__gte=alert.opened_at)
    if alert.closed_at is not None:
        changes = changes.filter(at__lte=alert.closed_at)
    return changes.order_by("at", "id")


def state_change_messages(changes) -> list[InboundMessage]:
    """The raw messages that reported these state changes (webhook sources only)."""
    ids = {}
    for change in changes:
        for source in change.sources:
            kind, _, message_id = source.partition(":")
            if kind in ("sns", "eventbridge"):
                ids.setdefault(kind, set()).add(message_id)
    messages = []
    for kind, message_ids in ids.items():
        messages += InboundMessage.objects.filter(source=kind, message_id__in=message_ids)
    return sorted(messages, key=lambda m: m.received_at)


def alarm_state_changes(*, alarm_id: int) -> QuerySet[StateChange]:
    return StateChange.objects.filter(alarm_id=alarm_id).order_by("-at", "-id")
