"""Celery tasks of the review: thin."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def reviews_open_task() -> int:
    """Beat, hourly: on Monday from OKAMI_REVIEW_TIME, open this week's review of every team (idempotent)."""
    from alarms.review.services.workflow import reviews_open_due

    return reviews_open_due()
