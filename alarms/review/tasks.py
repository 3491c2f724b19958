"""Celery tasks of the review: thin."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def reviews_open_task() -> int:
    """Beat, hourly: on Monday from OKAMI_REVIEW_TIME, open this week's review of every team (idempotent)."""
    from alarms.review.services.workflow import reviews_open_due

    return reviews_open_due()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def review_items_replay_task(review_id: int) -> int:
    """After a review opens: its transient and noisy items get the replay of their metric (idempotent)."""
    from alarms.review.services.tuning import review_items_replay

    return review_items_replay(review_id=review_id)
