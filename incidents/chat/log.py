"""The log backend: what would be posted, written to the log (the default without Slack settings)."""

from __future__ import annotations

import itertools
import logging
import time

from incidents.chat.notifier import ChatMessage, Posted

logger = logging.getLogger("okami.chat")
_sequence = itertools.count(1)


class LogNotifier:
    name = "log"

    def post(self, *, channel: str, message: ChatMessage, thread_ts: str = "") -> Posted:
        # A ts shaped like Slack's, unique in this process: updates and threads refer to it like to a real one.
        ts = f"{time.time():.0f}.{next(_sequence):06d}"
        where = f"{channel} (thread {thread_ts})" if thread_ts else channel
        logger.info("chat post to %s [%s]: %s", where, ts, message.text)
        return Posted(channel=channel, ts=ts)

    def update(self, *, channel: str, ts: str, message: ChatMessage) -> None:
        logger.info("chat update of %s [%s]: %s", channel, ts, message.text)

    def ephemeral(self, *, channel: str, user: str, text: str) -> None:
        logger.info("chat to %s only, in %s: %s", user, channel, text)

    def user_email(self, *, user: str) -> str | None:
        return None  # no chat behind the log: nobody to look up
