"""Celery tasks of the ingest: take ids, call one service."""

from celery import shared_task

from incidents.services.ingest import inbound_process, inbound_process_pending


@shared_task(acks_late=True, ignore_result=True)
def inbound_process_task(message_pk: int) -> str:
    return inbound_process(message_pk=message_pk)


@shared_task(acks_late=True, ignore_result=True)
def inbound_sweep_task() -> int:
    """Messages stored while the broker was down, or whose task was lost."""
    return inbound_process_pending()
