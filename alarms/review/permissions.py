"""Who may decide a review's items and sign it off: administrators (editors or staff) for every team, and the
members of the review's team for theirs. Everyone signed in reads every review."""

from alarms.permissions import can_edit_governance

REFUSAL = "Only administrators and the members of the review's team decide its items and sign it off."


def can_review(user, team) -> bool:
    if not (user and user.is_authenticated):
        return False
    if user.is_staff or can_edit_governance(user):
        return True
    return user.teams.filter(pk=team.pk).exists()
