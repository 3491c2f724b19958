"""String choices of the review (stable API values)."""

from django.db import models


class Rule(models.TextChoices):
    NEVER_ACTED_ON = "never_acted_on", "Never acted on"
    DUPLICATE = "duplicate", "Duplicate of another alarm"
    TRANSIENT = "transient", "Transient"
    FLAPPING = "flapping", "Flapping"
    NOISY = "noisy", "Noisy"
    STUCK = "stuck", "Stuck in ALARM"
    MUTED = "muted", "Muted"
    ORPHANED = "orphaned", "Orphaned"
    UNOWNED = "unowned", "Without owner"
    NO_PURPOSE = "no_purpose", "Without purpose"


class Decision(models.TextChoices):
    KEEP = "keep", "Keep"
    TUNE = "tune", "Tune"
    DEMOTE = "demote", "Demote"
    DELETE = "delete", "Delete"
    MERGE = "merge", "Merge"


class DemoteTo(models.TextChoices):
    DISABLE_ACTIONS = "disable_actions", "Disable actions"
    TICKET = "ticket", "Tier ticket"
    INFO = "info", "Tier info"


class ApplyStatus(models.TextChoices):
    NOT_APPLIED = "", "Decided, not applied"
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    CONFIRMED = "confirmed", "Confirmed"
    PENDING_IAC = "pending_iac", "Pending (infrastructure as code)"
    FAILED = "failed", "Failed"
    DRIFTED = "drifted", "Drifted"
