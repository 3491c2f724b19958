"""A local stand-in for Slack's Web API, for tests and the demo: ``SLACK_API_URL = standin.url``.

It answers what the portal calls (``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``auth.test``)
the way Slack documents: HTTP 200 with ``{"ok": true, ...}``, or ``{"ok": false, "error": ...}`` for a bad token
or an unknown message; a channel given by name comes back as a stable id ("C" + a hash of the name); each
message gets a ts larger than the last. It records every call (``.calls``) and keeps the messages as they stand
after updates (``.messages``). ``rate_limit(times, retry_after)`` makes the next calls answer 429 with a
``Retry-After`` header, as Slack does when a method's limit is reached.

    standin = SlackStandIn(token="xoxb-test").start()
    ...  # settings.SLACK_API_URL = standin.url
    standin.stop()
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Call:
    """One request as received: the Web API method, its arguments (JSON or form), the Authorization header and
    the HTTP status it was answered with."""

    method: str
    args: dict
    authorization: str
    status: int


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list = field(default_factory=list)
    thread_ts: str = ""
    updates: int = 0


def channel_id(channel: str) -> str:
    """The id Slack would answer for a channel: ids stay as they are, a name maps to a stable made-up id."""
    if CHANNEL_ID.match(channel):
        return channel
    digest = hashlib.sha1(channel.lstrip("#").encode(), usedforsecurity=False).hexdigest()
    return "C" + digest[:10].upper()


class SlackStandIn:
    def __init__(self, *, token: str, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.host, self.port = host, port
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self._lock = threading.Lock()
        self._limited: list[float] = []
        self._failing: list[tuple[int, bool]] = []
        self.emails: dict[str, str] = {}  # users.info: Slack user id → e-mail
        self._clock = int(time.time())
        self._sequence = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The Web API base URL, ending in ``/api/`` like slack-sdk's ``base_url``."""
        return f"http://{self.host}:{self.port}/api/"

    def handler_base(self) -> type:
        """The request handler class; a subclass may serve more than the Web API (the demo's channel page)."""
        return _Handler

    def start(self) -> SlackStandIn:
        handler = type("Handler", (self.handler_base(),), {"standin": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]  # kept: a restart after stop() answers at the same URL
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="slack-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def fail(self, times: int, status: int = 502, *, after_effect: bool = True) -> None:
        """The next ``times`` calls answer ``status``; ``after_effect``: as a gateway timing out after Slack
        did the work (the message is posted all the same), the case a client cannot tell apart."""
        with self._lock:
            self._failing.extend([(status, after_effect)] * times)

    def rate_limit(self, times: int, retry_after: int = 1) -> None:
        """The next ``times`` calls answer 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._limited.extend([retry_after] * times)

    def calls_to(self, method: str, *, status: int | None = 200) -> list[Call]:
        """The calls of one method (by default only those that were answered 200)."""
        return [c for c in self.calls if c.method == method and (status is None or c.status == status)]

    # --- the API ---------------------------------------------------------------------------------------------

    def answer(self, method: str, args: dict, authorization: str) -> tuple[int, dict, dict]:
        """(status, headers, body) for one call; records it."""
        with self._lock:
            if self._limited:
                wait = self._limited.pop(0)
                self.calls.append(Call(method, args, authorization, 429))
                return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
            if self._failing:
                status, after_effect = self._failing.pop(0)
                self.calls.append(Call(method, args, authorization, status))
                handler = getattr(self, "_" + method.replace(".", "_"), None)
                if after_effect and handler is not None and authorization == f"Bearer {self.token}":
                    handler(args)
                return status, {}, {"ok": False, "error": "fatal_error"}
            self.calls.append(Call(method, args, authorization, 200))
            if authorization != f"Bearer {self.token}":
                return 200, {}, {"ok": False, "error": "not_authed" if not authorization else "invalid_auth"}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {}, {"ok": False, "error": "unknown_method"}
            return 200, {}, handler(args)

    def _next_ts(self) -> str:
        self._sequence += 1
        return f"{self._clock}.{self._sequence:06d}"

    def _auth_test(self, args: dict) -> dict:
        return {"ok": True, "url": "https://okami-standin.slack.com/", "team": "Okami", "user": "okami",
                "team_id": "T0STANDIN", "user_id": "U0OKAMI00", "bot_id": "B0OKAMI00"}  # fmt: skip

    def _chat_postMessage(self, args: dict) -> dict:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread_ts = str(args.get("thread_ts") or "")
        cid = channel_id(channel)
        if thread_ts and (cid, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        message = Message(cid, self._next_ts(), str(args.get("text") or ""), _blocks(args), thread_ts)
        self.messages[(cid, message.ts)] = message
        return {"ok": True, "channel": cid, "ts": message.ts, "message": _shown(message)}

    def _chat_update(self, args: dict) -> dict:
        key = (str(args.get("channel") or ""), str(args.get("ts") or ""))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found" if key[0] else "channel_not_found"}
        message.text, message.blocks = str(args.get("text") or ""), _blocks(args)
        message.updates += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text,
                "message": _shown(message)}  # fmt: skip

    def _users_info(self, args: dict) -> dict:
        user = str(args.get("user") or "")
        if user not in self.emails:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user, "profile": {"email": self.emails[user]}}}

    def _chat_postEphemeral(self, args: dict) -> dict:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found" if not args.get("channel") else "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}


def _blocks(args: dict) -> list:
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):  # form-encoded calls send blocks as a JSON string
        try:
            blocks = json.loads(blocks)
        except ValueError:
            blocks = []
    return blocks


def _shown(message: Message) -> dict:
    shown = {"type": "message", "text": message.text, "ts": message.ts, "blocks": message.blocks}
    if message.thread_ts:
        shown["thread_ts"] = message.thread_ts
    return shown


class _Handler(BaseHTTPRequestHandler):
    standin: SlackStandIn
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length) if length else b""
        self._respond(self._args(body))

    def do_GET(self) -> None:
        self._respond({})

    def _args(self, body: bytes) -> dict:
        args = dict(parse_qsl(urlsplit(self.path).query))
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        text = body.decode("utf-8", "replace")
        if kind == "application/json" and text:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {}
            args.update(parsed if isinstance(parsed, dict) else {})
        elif text:
            args.update(parse_qsl(text))
        return args

    def _respond(self, args: dict) -> None:
        path = urlsplit(self.path).path
        method = path.removeprefix("/api/") if path.startswith("/api/") else ""
        if not method:
            status, headers, body = 404, {}, {"ok": False, "error": "unknown_method"}
        else:
            status, headers, body = self.standin.answer(method, args, self.headers.get("Authorization") or "")
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args) -> None:
        pass  # quiet: .calls is the record
