"""The bulk write paths the sync and the rules take, on the database the suite runs on."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from portal.db import insert_rows, update_by_pk

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_rows_not_named_keep_theirs():
    User = get_user_model()
    ada, bob, eve = (User.objects.create(username=name, first_name="-") for name in ("ada", "bob", "eve"))

    changed = update_by_pk(
        User,
        {
            ada.pk: {"first_name": "Ada", "is_staff": True},
            bob.pk: {"first_name": "Bob", "is_staff": False},
            eve.pk + 1000: {"first_name": "Nobody", "is_staff": True},  # gone meanwhile: nothing to update
        },
    )

    assert changed == 2
    rows = dict(User.objects.values_list("username", "first_name"))
    assert rows == {"ada": "Ada", "bob": "Bob", "eve": "-"}
    assert list(User.objects.filter(is_staff=True).values_list("username", flat=True)) == ["ada"]
    assert update_by_pk(User, {}) == 0


def test_a_duplicate_in_a_bulk_insert_raises_the_frameworks_integrity_error_and_inserts_nothing():
    User = get_user_model()
    User.objects.create(username="ada")
    rows = [{"username": "bob", "password": "!"}, {"username": "ada", "password": "!"}]

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(User, rows)

    assert list(User.objects.values_list("username", flat=True)) == ["ada"]
