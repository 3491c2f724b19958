"""How the noise report writes its rates: a rare customer impact must not read as none."""

import pytest

from alarms.review.templatetags.report import percent


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (None, "—"),
        (0, "0%"),
        (0.0003, "<0.1%"),
        (0.0042, "0.4%"),
        (0.0096, "1%"),
        (0.4286, "43%"),
        (1, "100%"),
    ],
)
def test_rates_below_one_percent_keep_a_decimal_and_only_zero_reads_zero(rate, shown):
    assert percent(rate) == shown
