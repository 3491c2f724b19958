"""Who may say what was done about an alert (an outcome, an acknowledgement): editors, for every alert, and
the members of the alarm's owner team, for that team's alerts. Everyone signed in reads them all."""

from django.db.models import QuerySet

from alarms.permissions import can_edit_governance
from incidents.models import Alert

REFUSAL = "Only editors and the members of the alarm's owner team record what was done about its alerts."


def can_label(user, alert: Alert) -> bool:
    if can_edit_governance(user):
        return True
    team_id = alert.alarm.owner_team_id
    return bool(team_id and user.is_authenticated and user.teams.filter(pk=team_id).exists())


def alerts_labellable(user, alerts: QuerySet[Alert] | None = None) -> QuerySet[Alert]:
    """The alerts (of ``alerts``, or all) that ``user`` may label, as a queryset: one query however many."""
    alerts = Alert.objects.all() if alerts is None else alerts
    if can_edit_governance(user):
        return alerts
    if not user.is_authenticated:
        return alerts.none()
    return alerts.filter(alarm__owner_team__in=user.teams.all())


TEAM_CHAT_REFUSAL = "Only administrators and the team's members change its chat settings."


def can_manage_team_chat(user, team) -> bool:
    """A team's chat settings (channel, digest time, page budget, the test message): administrators (editors or
    staff) and the team's members."""
    if not (user and user.is_authenticated):
        return False
    if user.is_staff or can_edit_governance(user):
        return True
    return user.teams.filter(pk=team.pk).exists()
