"""Okami: governs CloudWatch alarms for serverless estates so that alarms stop crying wolf."""

from portal.celery import app as celery_app

__all__ = ("celery_app",)
