"""Alarm history (DescribeAlarmHistory): state updates of every alarm of an (account, region), oldest first
from a point in time, within the API's quota of 3 requests a second."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime

from alarms.aws.paging import CallCounter, pages

HISTORY_PAGE_SIZE = 100
HISTORY_TPS = 3  # DescribeAlarmHistory's quota per account and region


def alarm_history_pages(
    cloudwatch,
    counter: CallCounter,
    *,
    start: datetime,
    end: datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[dict]]:
    """Pages of state-update history items between ``start`` and ``end``, ascending, a request at most every
    1/3 s."""
    for page in pages(
        _paced(cloudwatch.describe_alarm_history, sleep),
        "NextToken",
        counter,
        HistoryItemType="StateUpdate",
        AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        StartDate=start,
        EndDate=end,
        ScanBy="TimestampAscending",
        MaxRecords=HISTORY_PAGE_SIZE,
    ):
        yield page.get("AlarmHistoryItems", [])


def _paced(call, sleep):
    """``call`` made at most HISTORY_TPS times a second."""
    previous = [0.0]

    def paced(**params):
        wait = previous[0] + 1 / HISTORY_TPS - time.monotonic()
        if wait > 0:
            sleep(wait)
        previous[0] = time.monotonic()
        return call(**params)

    return paced
