"""The chat message of a signed-off review: its summary and a link to the review. Pure: reads only what it is
given. Team names are untrusted, so the summary travels as plain text, which Slack never parses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidents.chat.messages import inert, link
from incidents.chat.notifier import ChatMessage

if TYPE_CHECKING:
    from alarms.review.models import Review

TEXT_MAX = 2900


def review_url(review: Review, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/reviews/{review.pk}/"


def review_summary_message(review: Review, *, text: str, base_url: str) -> ChatMessage:
    text = text[:TEXT_MAX]
    open_link = {"type": "mrkdwn", "text": link(review_url(review, base_url), "Open the review")}
    blocks = [
        {"type": "section", "text": {"type": "plain_text", "text": text, "emoji": False}},
        {"type": "context", "elements": [open_link]},
    ]
    return ChatMessage(text=inert(text), blocks=blocks)
