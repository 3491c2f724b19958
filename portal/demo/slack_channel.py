"""The demo's Slack: the Web API stand-in (``portal.slack_standin``) with a page that shows its channels the
way a chat client would, whose buttons do what Slack does on a click: sign a ``block_actions`` payload with the
app's signing secret and post it to the portal's ``/hooks/slack/actions/``. So the demo's page-tier alerts
arrive in chat, and a click there records the outcome the inbox and the alert page then show.

Everything shown comes from the messages as the portal posted and updated them; text is HTML-escaped here as
any client would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import urllib.request
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit

from portal.slack_standin import Message, SlackStandIn, _Handler

logger = logging.getLogger(__name__)

# Who clicks: the demo's people, as the Slack users the demo links to their portal accounts.
SLACK_USERS = {"U0DEMOEDIT": "editor", "U0DEMOADMN": "admin", "U0DEMOOPS1": "sam (not linked)"}
DEFAULT_USER = "U0DEMOEDIT"
SHOWN = 60


def demo_chat_identities() -> int:
    """Link the demo's Slack users to their portal accounts (the one left unlinked shows how such clicks look)."""
    from django.contrib.auth import get_user_model

    from incidents.models import ChatIdentity

    linked = 0
    for slack_user_id, username in SLACK_USERS.items():
        user = get_user_model().objects.filter(username=username).first()
        if user is not None:
            ChatIdentity.objects.update_or_create(user=user, defaults={"slack_user_id": slack_user_id})
            linked += 1
    return linked


def page_tier_pairs(pairs) -> list:
    """The pairs of which an alarm pages (tier page, actions on): those post to chat when they fire."""
    from alarms.models import Alarm

    paging = set(Alarm.objects.filter(tier="page", actions_enabled=True).values_list("arn", flat=True))
    return [pair for pair in pairs if any(alarm.arn in paging for alarm in pair)]


class DemoSlack(SlackStandIn):
    """The stand-in, plus ``/`` (the channels) and ``/click`` (a button press, forwarded signed)."""

    def __init__(self, *, token: str, signing_secret: str, actions_url: str, **kwargs):
        super().__init__(token=token, **kwargs)
        self.signing_secret = signing_secret
        self.actions_url = actions_url

    @property
    def page_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def handler_base(self) -> type:
        return _ChannelHandler

    def click(self, *, channel: str, ts: str, action_id: str, value: str, user: str) -> int:
        """What Slack sends when ``user`` presses a button: the HTTP status the portal answered."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": SLACK_USERS.get(user, user), "name": SLACK_USERS.get(user, user)},
            "team": {"id": "T0STANDIN", "domain": "okami-standin"},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "message": {"ts": ts},
            "actions": [{"action_id": action_id, "value": value, "type": "button", "action_ts": f"{time.time():.6f}"}],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        timestamp = str(int(time.time()))
        base = f"v0:{timestamp}:".encode() + body
        signature = "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 (the demo's own portal, http)
            self.actions_url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            logger.warning("the portal did not take the click", exc_info=True)
            return 0

    def page(self, *, user: str, flash: str = "") -> str:
        with self._lock:
            messages = sorted(self.messages.values(), key=lambda m: m.ts, reverse=True)
            ephemerals = [c.args for c in self.calls if c.method == "chat.postEphemeral" and c.args.get("user") == user]
        top = [m for m in messages if not m.thread_ts][:SHOWN]
        replies: dict[str, list[Message]] = {}
        for message in messages:
            if message.thread_ts:
                replies.setdefault(message.thread_ts, []).insert(0, message)
        people = "".join(
            f'<option value="{escape(uid)}"{" selected" if uid == user else ""}>{escape(name)}</option>'
            for uid, name in SLACK_USERS.items()
        )
        notes = "".join(f"<li>{escape(str(e.get('text', '')))}</li>" for e in ephemerals[-3:])
        body = "".join(_message_html(m, replies.get(m.ts, []), user) for m in top) or "<p>Nothing posted yet.</p>"
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Okami demo · Slack</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d1c1d}}
.msg{{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.7rem 0}}.ch{{color:#616061;font-size:12px}}
.reply{{margin:.4rem 0 0 1.5rem;border-left:3px solid #ddd;padding-left:.6rem}}button{{margin:.2rem .2rem 0 0}}
.ctx{{color:#616061;font-size:12px}}.flash{{background:#eef6ee;padding:.4rem .8rem}}</style></head><body>
<h1>Demo Slack</h1><p>What Okami posted, as a chat client shows it. Buttons send a signed click to the portal,
as Slack does. <form method="get" style="display:inline">Clicking as <select name="as" onchange="this.form.submit()">
{people}</select></form></p>{f'<p class="flash">{escape(flash)}</p>' if flash else ""}
{f"<p>Only you can see: <ul>{notes}</ul></p>" if notes else ""}{body}</body></html>"""


def _message_html(message: Message, replies: list[Message], user: str) -> str:
    inner = _blocks_html(message, user)
    threaded = "".join(f'<div class="reply">{_blocks_html(reply, user)}</div>' for reply in replies)
    edited = f" · edited {message.updates} times" if message.updates else ""
    where = f"{escape(message.channel)} · {escape(message.ts)}{edited}"
    return f'<div class="msg"><div class="ch">{where}</div>{inner}{threaded}</div>'


# A link in Slack's mrkdwn, once HTML-escaped: only the message's own links (text from data came escaped by
# the portal, so its "<" is "&amp;lt;" here and never matches).
LINK = re.compile(r"&lt;(https?://[^|&\s]+)\|([^&]*)&gt;")


def _text_html(text_object: dict) -> str:
    """A Block Kit text object as HTML: links only in ``mrkdwn`` (``plain_text`` is never markup)."""
    text = escape(str(text_object.get("text", "")))
    return LINK.sub(r'<a href="\1">\2</a>', text) if text_object.get("type") == "mrkdwn" else text


def _blocks_html(message: Message, user: str) -> str:
    if not message.blocks:
        return f"<p>{escape(message.text)}</p>"
    parts = []
    for block in message.blocks:
        kind = block.get("type")
        if kind in ("header", "section"):
            texts = [block.get("text") or {}, *(block.get("fields") or [])]
            parts.append("<p>" + "<br>".join(_text_html(t) for t in texts if t) + "</p>")
        elif kind == "context":
            texts = (_text_html(element) for element in block.get("elements", []) if isinstance(element, dict))
            parts.append('<p class="ctx">' + " ".join(texts) + "</p>")
        elif kind == "actions":
            buttons = "".join(_button_html(message, element, user) for element in block.get("elements", []))
            parts.append(f"<div>{buttons}</div>")
    return "".join(parts)


def _button_html(message: Message, element: dict, user: str) -> str:
    if element.get("type") != "button" or "action_id" not in element:
        return ""
    label = escape(str((element.get("text") or {}).get("text", element["action_id"])))
    fields = {"channel": message.channel, "ts": message.ts, "action_id": element["action_id"],
              "value": element.get("value", ""), "as": user}  # fmt: skip
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(str(v))}">' for k, v in fields.items())
    return f'<form method="post" action="/click" style="display:inline">{hidden}<button>{label}</button></form>'


class _ChannelHandler(_Handler):
    standin: DemoSlack

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            return super().do_GET()
        query = dict(parse_qsl(url.query))
        user = query.get("as") if query.get("as") in SLACK_USERS else DEFAULT_USER
        self._html(self.standin.page(user=user, flash=query.get("flash", "")))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/click":
            return super().do_POST()
        length = min(int(self.headers.get("Content-Length") or 0), 16 * 1024)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        user = form.get("as") if form.get("as") in SLACK_USERS else DEFAULT_USER
        status = self.standin.click(
            channel=form.get("channel", ""), ts=form.get("ts", ""), action_id=form.get("action_id", ""),
            value=form.get("value", ""), user=user,
        )  # fmt: skip
        flash = f"Clicked {form.get('action_id', '')} as {SLACK_USERS[user]}: the portal answered {status}."
        self.send_response(303)
        self.send_header("Location", "/?" + urlencode({"as": user, "flash": flash}))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _html(self, page: str) -> None:
        payload = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
