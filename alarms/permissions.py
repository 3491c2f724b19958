"""Roles: every signed-in user reads; editors (the permission below) change governance; staff administer
AWS accounts."""

from rest_framework.permissions import BasePermission

GOVERNANCE_PERMISSION = "alarms.change_alarm_governance"


def can_edit_governance(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(GOVERNANCE_PERMISSION))


class CanEditGovernance(BasePermission):
    message = "You need the 'change alarm governance' permission (editors group) to change alarms."

    def has_permission(self, request, view):
        return can_edit_governance(request.user)
