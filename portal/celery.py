"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("okami")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_startup_heap(**kwargs):
    """What a worker process loaded at start-up lives as long as it does: frozen, it is left out of the
    collector's full passes, which a sync's thousands of new alarms trigger (a pass over the whole heap costs
    a quarter of a second here)."""
    gc.freeze()
