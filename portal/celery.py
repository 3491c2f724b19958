"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_process_init

from portal.process import tune_for_refresh

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("okami")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _tune_worker_process(**kwargs):
    tune_for_refresh()
