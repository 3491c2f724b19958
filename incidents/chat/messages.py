"""Chat messages: what a page-tier alert, a reply in its incident's thread, a team's daily digest and a test
message say. Pure builders: they read only the objects they are given (the caller selects the relations they
touch) and return a ``ChatMessage``.

Everything that comes from outside (alarm names, state reasons, purposes, team and service names) is untrusted.
It goes into ``plain_text`` objects, which Slack never parses: no mentions, links or formatting. Where it must
sit in ``mrkdwn`` (the fallback ``text`` of a notification, a digest's alarm links) it is escaped (``&``, ``<``,
``>`` as Slack documents, so ``<!channel>``, ``<@U…>`` and ``<http…|…>`` stay text) and its formatting
characters are broken apart by a zero-width space (``*bold*`` stays as typed). Only our own words, and URLs we
built or checked, are markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, urlsplit

from django.utils import timezone

from incidents.chat.notifier import ChatMessage
from incidents.choices import Outcome

if TYPE_CHECKING:
    from alarms.models import Alarm, Team
    from incidents.models import Alert

# The buttons of an alert's message: Slack's action_id → what the portal records. "okami_ack" acknowledges.
ACK_ACTION = "okami_ack"
OUTCOME_ACTIONS = {
    "okami_actioned": Outcome.ACTIONED,
    "okami_customer_impact": Outcome.CUSTOMER_IMPACT,
    "okami_no_action": Outcome.NO_ACTION,
    "okami_transient": Outcome.TRANSIENT,
    "okami_false_positive": Outcome.FALSE_POSITIVE,
}
BUTTONS = [
    (ACK_ACTION, "Acknowledge", "primary"),
    ("okami_actioned", "Actioned", ""),
    ("okami_customer_impact", "Customer impact", "danger"),
    ("okami_no_action", "No action needed", ""),
    ("okami_transient", "Transient", ""),
    ("okami_false_positive", "False positive", ""),
]
OUTCOME_NAMES = {value: label.split(":")[0] for value, label in Outcome.choices}

# Slack's limits: a header's text, a section's text and field, the fallback text (shortened well before).
HEADER_MAX = 150
FIELD_MAX = 2000
SECTION_MAX = 3000
TEXT_MAX = 3000
REASON_MAX = 1500
PURPOSE_MAX = 600
DIGEST_ROWS_MAX = 40
ZERO_WIDTH_SPACE = "\u200b"
FORMATTING = "*_~`"


class BudgetLike(Protocol):
    used: int
    limit: int


@dataclass(frozen=True)
class DigestRow:
    """One alarm of a digest: its name, how many alerts it had in the day, and its page."""

    name: str
    count: int
    url: str


def escape(text: str) -> str:
    """Slack's escaping of the three control characters: mentions, links and commands in ``text`` stay text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inert(text: str) -> str:
    """``text`` for a ``mrkdwn`` context: escaped, and its formatting characters kept from pairing up."""
    escaped = escape(text)
    for char in FORMATTING:
        escaped = escaped.replace(char, char + ZERO_WIDTH_SPACE)
    return escaped


def web_url(url: str) -> str:
    """``url`` if it is an http(s) address, made safe to sit in ``<url|label>``; otherwise ""."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return ""
    # "|", "<", ">" and spaces would end the link early or open another: percent-encode them (and "&" as
    # Slack asks). Everything else that is already valid in a URL stays as it was.
    return escape(quote(url, safe="/:?#[]@!$&'()*+,;=%~-._"))


def link(url: str, label: str) -> str:
    """A mrkdwn link to a URL we built or checked, labelled with our own words."""
    return f"<{url}|{label}>"


def _clip(text: str, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int = SECTION_MAX) -> dict:
    return {"type": "plain_text", "text": _clip(text, limit) or " ", "emoji": False}


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _who(name: str, user) -> str:
    """The name recorded on the alert (a portal username or a chat user's name), else the user's."""
    return name or (user.get_username() if user is not None else "someone")


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def alert_url(alert: Alert, base_url: str) -> str:
    return f"{_base(base_url)}/alerts/{alert.pk}/"


def alarm_url(alarm_id: int, base_url: str) -> str:
    return f"{_base(base_url)}/alarms/{alarm_id}/"


def has_human_outcome(alert: Alert) -> bool:
    return bool(alert.outcome) and not alert.outcome_inferred


def state_line(alert: Alert) -> str:
    """Open or closed, the outcome and who recorded it (or that it was inferred), and who acknowledged it."""
    parts = [f"Open since {_when(alert.opened_at)}" if alert.is_open else f"Closed at {_when(alert.closed_at)}"]
    if alert.outcome:
        name = OUTCOME_NAMES.get(alert.outcome, alert.outcome)
        parts.append(
            f"{name} (inferred)"
            if alert.outcome_inferred
            else f"{name}, by {_who(alert.outcome_by_name, alert.outcome_by)}"
        )
    if alert.acknowledged_at is not None:
        parts.append(f"acknowledged by {_who(alert.acknowledged_by_name, alert.acknowledged_by)}")
    return " · ".join(parts)


def incident_line(alert: Alert) -> str:
    incident = alert.incident
    if incident is None:
        return ""
    status = "open" if incident.is_open else "closed"
    impact = f", customer impact: {incident.get_customer_impact_display().lower()}"
    return f"Incident #{incident.pk} ({status}{impact}): {incident.title}"


def budget_line(budget: BudgetLike) -> str:
    line = f"{budget.used} of {budget.limit} page notifications this week"
    return line + " (over budget)" if budget.used > budget.limit else line


def _purpose(alarm: Alarm) -> str:
    values = (alarm.purpose_detects, alarm.purpose_customer_impact, alarm.purpose_action)
    suggested = ""
    if not any(values):
        values = (alarm.suggested_detects, alarm.suggested_customer_impact, alarm.suggested_action)
        suggested = " (suggested, not confirmed)"
    if not any(values):
        return "Purpose: none recorded. What does it detect, what do customers notice, what should be done?"
    labels = ("Detects", "Customer impact", "Expected action")
    lines = [f"{label}: {_clip(value, PURPOSE_MAX)}" for label, value in zip(labels, values, strict=True) if value]
    return f"Purpose{suggested}\n" + "\n".join(lines)


def _actions(alert: Alert) -> dict:
    buttons = []
    for action_id, label, style in BUTTONS:
        if action_id == ACK_ACTION and alert.acknowledged_at is not None:
            continue
        button = {"type": "button", "action_id": action_id, "text": _plain(label, 75), "value": str(alert.pk)}
        if style:
            button["style"] = style
        buttons.append(button)
    return {"type": "actions", "block_id": f"okami_alert_{alert.pk}", "elements": buttons}


def _links(alert: Alert, base_url: str) -> str:
    links = [link(alert_url(alert, base_url), "Open the alert")]
    runbook = web_url(alert.alarm.runbook_url)
    if runbook:
        links.append(link(runbook, "Runbook"))
    return " · ".join(links)


def _unrouted(alarm: Alarm) -> str:
    """Why an alarm's alert is in the fallback channel, or "" when it went to its team."""
    team = alarm.owner_team
    if team is None:
        return "This alarm has no owner team."
    if not team.chat_channel:
        return f"Its owner team {team.name} has no chat channel."
    return ""


def fallback_note(alarm: Alarm, *, base_url: str) -> list[dict]:
    """The blocks that ask for an owner (or a channel): in the fallback channel, an alert is nobody's yet."""
    why = _unrouted(alarm)
    if not why:
        return []
    return [
        {"type": "section", "text": _plain(why)},
        {"type": "context", "elements": [_mrkdwn(link(alarm_url(alarm.pk, base_url), "Assign an owner"))]},
    ]


def alert_message(alert: Alert, *, budget: BudgetLike | None, base_url: str) -> ChatMessage:
    """The message of a page-tier alert: what fired, why it matters, what to do, where it stands, and buttons
    while nobody recorded an outcome. ``budget`` is the owner team's week (None without a team)."""
    alarm = alert.alarm
    service = alarm.service.name if alarm.service_id else "no service"
    where = f"{alarm.account.account_id} / {alarm.region}"
    title = f"{'ALARM' if alert.is_open else 'Resolved'}: {alarm.name}"
    fields = [
        _plain(f"Service\n{service}", FIELD_MAX),
        _plain(f"Account / region\n{where}", FIELD_MAX),
        _plain(f"Team\n{alarm.owner_team.name if alarm.owner_team_id else 'no owner'}", FIELD_MAX),
        _plain(f"Opened\n{_when(alert.opened_at)}", FIELD_MAX),
    ]
    blocks = [
        {"type": "header", "text": _plain(title, HEADER_MAX)},
        {"type": "section", "fields": fields},
        {"type": "section", "text": _plain(f"Reason: {_clip(alert.reason, REASON_MAX) or 'not given'}")},
        {"type": "section", "text": _plain(_purpose(alarm))},
        {"type": "section", "text": _mrkdwn(_links(alert, base_url))},
        *fallback_note(alarm, base_url=base_url),
    ]
    context = [_plain(state_line(alert))]
    incident = incident_line(alert)
    if incident:
        context.append(_plain(incident))
    if budget is not None:
        context.append(_plain(budget_line(budget)))
    blocks.append({"type": "context", "elements": context})
    if not has_human_outcome(alert):
        blocks.append(_actions(alert))
    text = f"{title} ({service}, {where}): {_clip(alert.reason, 300)} {state_line(alert)}"
    return ChatMessage(text=inert(_clip(text, TEXT_MAX)), blocks=blocks)


def thread_message(alert: Alert, *, base_url: str) -> ChatMessage:
    """A further alert of an incident that has its message already: a reply in that message's thread."""
    alarm = alert.alarm
    title = f"{'Also firing' if alert.is_open else 'Also fired'}: {alarm.name}"
    blocks = [
        {"type": "section", "text": _plain(f"{title}\nReason: {_clip(alert.reason, REASON_MAX) or 'not given'}")},
        {"type": "section", "text": _mrkdwn(_links(alert, base_url))},
        {"type": "context", "elements": [_plain(state_line(alert))]},
    ]
    if not has_human_outcome(alert):
        blocks.append(_actions(alert))
    text = f"{title}: {_clip(alert.reason, 300)} {state_line(alert)}"
    return ChatMessage(text=inert(_clip(text, TEXT_MAX)), blocks=blocks)


def digest_message(team: Team, rows: list[DigestRow], *, day: date, base_url: str) -> ChatMessage:
    """A team's ticket-tier alerts of the last day, by alarm, most alerts first."""
    rows = sorted(rows, key=lambda row: (-row.count, row.name))
    total = sum(row.count for row in rows)
    heading = f"Ticket-tier alerts of {team.name}, day to {day.isoformat()}: {total} from {len(rows)} alarms"
    lines, length = [], 0
    for shown, row in enumerate(rows):
        line = f"{row.count} {'alert' if row.count == 1 else 'alerts'}: {link(row.url, inert(_clip(row.name, 200)))}"
        if shown == DIGEST_ROWS_MAX or length + len(line) > SECTION_MAX - 100:
            rest = rows[shown:]
            lines.append(f"and {sum(r.count for r in rest)} more alerts of {len(rest)} more alarms")
            break
        lines.append(line)
        length += len(line) + 1
    alerts = f"{_base(base_url)}/alerts/?team={quote(team.slug)}"
    blocks = [
        {"type": "header", "text": _plain(heading, HEADER_MAX)},
        {"type": "section", "text": _mrkdwn("\n".join(lines) or "No alerts.")},
        {"type": "context", "elements": [_mrkdwn(link(escape(alerts), "All of the team's alerts"))]},
    ]
    return ChatMessage(text=inert(heading), blocks=blocks)


def test_message(team: Team) -> ChatMessage:
    text = f"Okami test message: page-tier alerts of {team.name} will be posted in this channel."
    return ChatMessage(text=inert(text), blocks=[{"type": "section", "text": _plain(text)}])


test_message.__test__ = False  # a message builder, not a test, wherever it is imported
