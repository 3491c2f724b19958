"""Timestamps as AWS writes them in SNS envelopes, alarm messages, events and history items."""

from __future__ import annotations

from datetime import UTC, datetime


def aws_time(value) -> datetime:
    """``2026-03-06T19:55:38.903Z``, ``2021-06-27T04:41:12.532+0000`` or a datetime, as an aware UTC datetime.
    Raises ValueError for anything else (including naive times, whose zone would be a guess)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        text = value.strip().replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 → +00:00
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text)
    else:
        raise ValueError(f"not a timestamp: {str(value)[:40]!r}")
    if parsed.tzinfo is None:
        raise ValueError(f"a timestamp without a time zone: {str(value)[:40]!r}")
    return parsed.astimezone(UTC)
