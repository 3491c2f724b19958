"""String choices of alerts (stable API values)."""

from django.db import models


class Outcome(models.TextChoices):
    ACTIONED = "actioned", "Actioned: someone did something"
    CUSTOMER_IMPACT = "customer_impact", "Customer impact"
    NO_ACTION = "no_action", "No action needed"
    TRANSIENT = "transient", "Transient: recovered by itself"
    DUPLICATE = "duplicate", "Duplicate of another alert"
    FALSE_POSITIVE = "false_positive", "False positive: the alarm was wrong"


class CustomerImpact(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    YES = "yes", "Yes"
    NO = "no", "No"


class Announcement(models.TextChoices):
    NONE = "none", "None"
    NEEDED = "needed", "Needed"
    SENT = "sent", "Sent"
