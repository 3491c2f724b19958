"""Fixtures of the review tests: the catalog's, and two people: one of the team, one of no team."""

import pytest

from alarms.tests.conftest import (  # noqa: F401 (fixtures shared with alarms)
    catalog,
    editor,
    make_alarms,
    rules_each_test_states,
    viewer,
)


@pytest.fixture
def member(django_user_model, catalog):  # noqa: F811 (the fixture)
    """Mia, of the team the reviews are about."""
    user = django_user_model.objects.create_user("mia", password="pw-mia-12345")
    catalog["team"].members.add(user)
    return user


@pytest.fixture
def outsider(django_user_model):
    """Otto, in no team and no editor."""
    return django_user_model.objects.create_user("otto", password="pw-otto-12345")
