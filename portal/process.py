"""Interpreter settings for the processes that refresh the catalog: the Celery workers and `sync_aws`."""

import gc
import sys

# A refresh runs threads that mostly wait for AWS beside one that writes thousands of rows. Each AWS
# request takes the interpreter lock back several times (send, every chunk received, parse); at the default
# 5 ms switch interval a reader waits that long behind the writer each time, and AWS sits idle. 1 ms
# measured 6-8% off a full refresh of 5,000 alarms (bench/README.md), at no cost to the no-op refresh.
SWITCH_INTERVAL_SECONDS = 0.001


def tune_for_refresh() -> None:
    """Call once the process has loaded what it lives with (Django, the AWS service models)."""
    # What was loaded so far lives as long as the process: frozen, it is left out of the collector's full
    # passes, which a refresh's thousands of new alarms trigger (a pass over the whole heap costs a quarter of
    # a second here).
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
