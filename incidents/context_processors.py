"""What every page's navigation shows about alerts."""

from functools import cache

from incidents import selectors


def inbox(request) -> dict:
    """``inbox_count``: my teams' alerts nobody labelled yet (the inbox's total). A template calls it, so the
    one COUNT (served by the partial index of unlabelled alerts) runs only on a page that shows it, once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def inbox_count() -> int:
        return selectors.inbox_count(user=user)

    return {"inbox_count": inbox_count}
