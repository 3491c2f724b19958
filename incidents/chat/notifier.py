"""The notifier: what the portal needs of a chat, whichever chat it is.

Two backends: ``log`` (the default: every message goes to the log, so tests and ``make run`` show what would
be posted) and ``slack`` (the Web API through slack-sdk, when ``SLACK_BOT_TOKEN`` is set). Services build a
``ChatMessage`` (incidents.chat.messages) and call ``notifier()``; they never see a backend's client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings


@dataclass(frozen=True)
class ChatMessage:
    """A message: ``text`` is the plain fallback (notifications, the log), ``blocks`` Slack's Block Kit."""

    text: str
    blocks: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Posted:
    """Where a message went: the channel's id (what updates need, even when it was posted by name) and its ts."""

    channel: str
    ts: str


class ChatError(Exception):
    """The chat refused or failed the call. ``retry_after`` (seconds): it did not happen and may be tried again
    then (Slack's 429 with Retry-After, a 5xx, a refused connection); ``None``: trying again would not help.
    ``maybe_delivered``: no answer came, the call may have taken effect."""

    def __init__(self, message: str, *, retry_after: float | None = None, maybe_delivered: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class Notifier(Protocol):
    name: str

    def post(self, *, channel: str, message: ChatMessage, thread_ts: str = "") -> Posted: ...

    def update(self, *, channel: str, ts: str, message: ChatMessage) -> None: ...

    def ephemeral(self, *, channel: str, user: str, text: str) -> None: ...

    def user_email(self, *, user: str) -> str | None: ...


def notifier() -> Notifier:
    if settings.SLACK_BOT_TOKEN:
        from incidents.chat.slack import SlackNotifier

        return SlackNotifier(token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL)
    from incidents.chat.log import LogNotifier

    return LogNotifier()
