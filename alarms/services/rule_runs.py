"""Rules applied, or a rule previewed, in a worker when the catalog is too large for one web request.

The request records a RuleRun and enqueues it once committed; the worker claims it (queued → running, once,
whatever the number of deliveries), runs the same services as the synchronous path and stores the outcome.
Small catalogs, and tests, keep the synchronous path: the answer is on the page at once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alarms.models import Alarm, MappingRule, RuleRun
from alarms.services.mapping import rule_preview, rules_apply

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 50
# What a preview keeps of the rule as submitted: every field a person edits (ids for service and team).
RULE_FIELDS = tuple(f.attname for f in MappingRule._meta.concrete_fields if f.editable and not f.primary_key)


def rules_run_in_worker() -> bool:
    """Whether the catalog is large enough for rule runs to leave the web request."""
    limit = settings.OKAMI_RULES_INLINE_MAX_ALARMS
    return Alarm.objects.filter(deleted_at__isnull=True)[: limit + 1].count() > limit


def rule_run_request(*, kind: str, actor, rule: MappingRule | None = None) -> RuleRun:
    """Record a run and enqueue it when the caller's transaction commits."""
    from alarms.tasks import rule_run_execute_task  # tasks import services, not the other way round at load

    snapshot = {"pk": rule.pk, **{name: getattr(rule, name) for name in RULE_FIELDS}} if rule is not None else {}
    run = RuleRun.objects.create(kind=kind, requested_by=actor if actor and actor.pk else None, rule=snapshot)
    transaction.on_commit(lambda: rule_run_execute_task.delay(run.pk))
    return run


def rule_run_lost(run: RuleRun) -> bool:
    """Whether an unfinished run has outlived any task that could still finish it (its worker was lost)."""
    deadline = run.created_at + timedelta(seconds=settings.OKAMI_SYNC_STALE_AFTER_SECONDS)
    return not run.finished and timezone.now() > deadline


def rule_run_execute(*, run_id: int) -> RuleRun | None:
    """Run a queued RuleRun; None when another delivery of the task already took it."""
    if not RuleRun.objects.filter(pk=run_id, status=RuleRun.Status.QUEUED).update(status=RuleRun.Status.RUNNING):
        return None
    run = RuleRun.objects.select_related("requested_by").get(pk=run_id)
    try:
        if run.kind == RuleRun.Kind.APPLY:
            run.reassigned = rules_apply(actor=run.requested_by)
        else:
            fields = {name: run.rule.get(name) for name in RULE_FIELDS}
            preview = rule_preview(rule=MappingRule(pk=run.rule.get("pk"), **fields))
            run.matches = preview.matches
            run.reassigned = len(preview.reassignments)
            run.reassignments = [asdict(item) for item in preview.reassignments[:PREVIEW_ROWS]]
        run.status = RuleRun.Status.SUCCEEDED
    except Exception as exc:  # recorded on the run, which the page shows
        logger.exception("rule run %s failed", run_id)
        run.status = RuleRun.Status.FAILED
        run.error = " ".join(getattr(exc, "messages", None) or [str(exc)])[:4000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "reassigned", "matches", "reassignments", "error", "finished_at"])
    return run
