"""The Slack backend: the Web API through slack-sdk (``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``). ``SLACK_API_URL`` points it at a local stand-in in tests and the demo."""

from __future__ import annotations

import socket
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from incidents.chat.notifier import ChatError, ChatMessage, Posted

TIMEOUT_SECONDS = 10
RETRY_SECONDS = 30


class SlackNotifier:
    name = "slack"

    def __init__(self, *, token: str, base_url: str):
        # No retry handlers: a 429 goes back to the task, which waits Retry-After in the queue, not in a worker.
        self.client = WebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=[])

    def post(self, *, channel: str, message: ChatMessage, thread_ts: str = "") -> Posted:
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        response = self._call(
            self.client.chat_postMessage,
            idempotent=False,
            channel=channel,
            text=message.text,
            blocks=message.blocks or None,
            **extra,
        )
        return Posted(channel=response["channel"], ts=response["ts"])

    def update(self, *, channel: str, ts: str, message: ChatMessage) -> None:
        self._call(self.client.chat_update, channel=channel, ts=ts, text=message.text, blocks=message.blocks or None)

    def ephemeral(self, *, channel: str, user: str, text: str) -> None:
        self._call(self.client.chat_postEphemeral, channel=channel, user=user, text=text)

    def user_email(self, *, user: str) -> str | None:
        """The user's e-mail from ``users.info`` (needs the ``users:read.email`` scope)."""
        response = self._call(self.client.users_info, user=user)
        return ((response.get("user") or {}).get("profile") or {}).get("email")

    @staticmethod
    def _call(method, *, idempotent: bool = True, **kwargs):
        """One Web API call. What certainly did not happen (a 429, a connection never made) may be retried;
        what may have happened (a 5xx, a reset or a timeout once the request was sent) is retried only when
        doing it twice is harmless (an update), never for a post: at most one message per alert."""
        try:
            return method(**kwargs)
        except SlackApiError as error:
            response = error.response
            if response.status_code == 429:
                raise ChatError("Slack is rate limiting", retry_after=_seconds(response.headers)) from error
            if response.status_code >= 500:
                raise _maybe(f"Slack failed: HTTP {response.status_code}", idempotent) from error
            raise ChatError(f"Slack refused: {response.get('error', response.status_code)}") from error
        except (URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ConnectionRefusedError | socket.gaierror):
                raise ChatError(f"Slack unreachable: {reason}", retry_after=RETRY_SECONDS) from error
            raise _maybe(f"Slack did not answer: {reason}", idempotent) from error


def _maybe(text: str, idempotent: bool) -> ChatError:
    return ChatError(text, retry_after=RETRY_SECONDS, maybe_delivered=not idempotent)


def _seconds(headers) -> float:
    """Retry-After in seconds (Slack sends an integer); anything else waits a minute."""
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0)
    except (TypeError, ValueError):
        return 60.0
