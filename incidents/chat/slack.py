"""The Slack backend: the Web API through slack-sdk (``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``). ``SLACK_API_URL`` points it at a local stand-in in tests and the demo."""

from __future__ import annotations

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
            self.client.chat_postMessage, channel=channel, text=message.text, blocks=message.blocks or None, **extra
        )
        return Posted(channel=response["channel"], ts=response["ts"])

    def update(self, *, channel: str, ts: str, message: ChatMessage) -> None:
        self._call(self.client.chat_update, channel=channel, ts=ts, text=message.text, blocks=message.blocks or None)

    def ephemeral(self, *, channel: str, user: str, text: str) -> None:
        self._call(self.client.chat_postEphemeral, channel=channel, user=user, text=text)

    @staticmethod
    def _call(method, **kwargs):
        try:
            return method(**kwargs)
        except SlackApiError as error:
            response = error.response
            if response.status_code == 429:
                wait = float(response.headers.get("Retry-After", 1))
                raise ChatError("Slack is rate limiting", retry_after=wait) from error
            if response.status_code >= 500:
                raise ChatError(f"Slack failed: HTTP {response.status_code}", retry_after=RETRY_SECONDS) from error
            raise ChatError(f"Slack refused: {response.get('error', response.status_code)}") from error
        except (URLError, OSError) as error:
            if isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError):
                # The request may have reached Slack: a post is not sent again (at most once), an update may be.
                raise ChatError("Slack did not answer in time", maybe_delivered=True) from error
            raise ChatError(f"Slack unreachable: {error}", retry_after=RETRY_SECONDS) from error
