"""A team's estate with a planted history: each alarm shows one known pattern of the review rules, or none.

``NOW`` is a Wednesday; each alarm is named after what it is planted to be. Alerts are bulk-created.
"""

from datetime import UTC, datetime, timedelta

from alarms.models import Alarm, Service, Team
from incidents.models import Alert, StateChange

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)
WEEK = "2026-W11"
PURPOSE = {"purpose_detects": "d", "purpose_customer_impact": "c", "purpose_action": "a"}

# alarm name → the rules it is planted to trip (the fixture's expected candidates)
EXPECTED = {
    "api-5xx": set(),
    "lambda-errors": {"duplicate"},
    "queue-depth": {"transient"},
    "table-throttles": {"never_acted_on"},
    "stuck-latency": {"stuck"},
    "muted-errors": {"muted"},
    "gone-function": {"orphaned"},
    "no-data-stream": {"orphaned"},
    "unowned-5xx": {"unowned"},
    "unowned-silent": set(),  # no owner, but it tells nobody: coverage lists it, the review does not
    "mystery": {"no_purpose"},
    "chatty": {"noisy"},
    "flappy": {"flapping"},
}


def make_alarm(account, name, *, team=None, service=None, purpose=True, **fields) -> Alarm:
    fields.setdefault("state", "OK")
    return Alarm.objects.create(
        arn=f"arn:aws:cloudwatch:eu-west-1:{account.account_id}:alarm:{name}",
        account=account,
        region="eu-west-1",
        name=name,
        owner_team=team,
        service=service,
        **(PURPOSE if purpose else {}),
        **fields,
    )


def alerts(alarm, *specs) -> list[Alert]:
    """Alerts from (opened before NOW, lasted or None while open, outcome[, responded after]) tuples."""
    rows = []
    for spec in specs:
        ago, lasted, outcome, *responded = (*spec, None) if len(spec) == 3 else spec
        opened = NOW - ago
        rows.append(
            Alert(
                alarm=alarm,
                opened_at=opened,
                closed_at=None if lasted is None else opened + lasted,
                outcome=outcome,
                first_response_at=opened + responded[0] if responded and responded[0] else None,
            )
        )
    return Alert.objects.bulk_create(rows)


def plant(catalog) -> dict[str, Alarm]:
    account, team, checkout = catalog["account"], catalog["team"], catalog["service"]
    ledger = Service.objects.create(slug="ledger", name="Ledger", team=team)
    other = Team.objects.create(slug="search", name="Search")
    day, minute = timedelta(days=1), timedelta(minutes=1)
    a = {}

    # A symptom at the edge and the Lambda behind it fire together: the Lambda one is the duplicate.
    a["api-5xx"] = make_alarm(account, "api-5xx", team=team, service=checkout, namespace="AWS/ApiGateway",
                              metric_name="5XXError", signal_kind="symptom", period=60)  # fmt: skip
    a["lambda-errors"] = make_alarm(account, "lambda-errors", team=team, service=checkout, namespace="AWS/Lambda",
                                    metric_name="Errors", signal_kind="cause", period=60)  # fmt: skip
    starts = [d * day + 3 * timedelta(hours=1) for d in (11, 20, 30, 40, 50)]
    alerts(a["api-5xx"], *[(s, 20 * minute, "actioned") for s in starts])
    outcomes = ["actioned", "duplicate", "duplicate", "duplicate", "duplicate"]
    alerts(a["lambda-errors"], *[(s - minute, 20 * minute, o) for s, o in zip(starts, outcomes, strict=True)])

    # Mostly short, untouched alerts; two real ones lasting 250 s and 900 s (period 60: 4 and 15 periods).
    a["queue-depth"] = make_alarm(account, "queue-depth", team=team, service=ledger, namespace="AWS/SQS",
                                  period=60, evaluation_periods=1, datapoints_to_alarm=1)  # fmt: skip
    seconds = timedelta(seconds=1)
    alerts(
        a["queue-depth"],
        (31 * day, 30 * seconds, "transient"),
        (32 * day, 70 * seconds, "transient"),
        (33 * day, 100 * seconds, ""),
        (34 * day, 150 * seconds, "transient"),
        (35 * day, 200 * seconds, ""),
        (36 * day, 250 * seconds, "actioned", 60 * seconds),
        (37 * day, 900 * seconds, "actioned", 60 * seconds),
    )

    # Four alerts, nobody ever acted.
    a["table-throttles"] = make_alarm(account, "table-throttles", team=team, service=ledger,
                                      namespace="AWS/DynamoDB", period=300)  # fmt: skip
    throttles = ((15, "no_action"), (25, "no_action"), (35, "no_action"), (45, ""))
    alerts(a["table-throttles"], *[(d * day, timedelta(hours=1), outcome) for d, outcome in throttles])

    a["stuck-latency"] = make_alarm(account, "stuck-latency", team=team, state="ALARM",
                                    state_transitioned_at=NOW - 10 * day)  # fmt: skip
    a["muted-errors"] = make_alarm(account, "muted-errors", team=team, actions_enabled=False,
                                   actions_disabled_since=NOW - 70 * day)  # fmt: skip
    a["gone-function"] = make_alarm(account, "gone-function", team=team, orphaned=True)
    a["no-data-stream"] = make_alarm(account, "no-data-stream", team=team, state="INSUFFICIENT_DATA",
                                     state_transitioned_at=NOW - 20 * day)  # fmt: skip
    topic = [f"arn:aws:sns:eu-west-1:{account.account_id}:alerts"]
    a["unowned-5xx"] = make_alarm(account, "unowned-5xx", service=checkout, alarm_actions=topic)
    a["unowned-silent"] = make_alarm(account, "unowned-silent", service=checkout)
    a["mystery"] = make_alarm(account, "mystery", team=team, purpose=False, tier="page")  # pages, says not why

    # Twenty real alerts in the last week.
    a["chatty"] = make_alarm(account, "chatty", team=team)
    alerts(a["chatty"], *[(timedelta(hours=1 + 8 * i), 20 * minute, "actioned") for i in range(20)])

    # Three state changes in 20 minutes, once (period 60: 20 periods are 20 minutes).
    a["flappy"] = make_alarm(account, "flappy", team=team, period=60)
    StateChange.objects.bulk_create(
        StateChange(alarm=a["flappy"], at=NOW - 5 * day + i * 10 * minute, new_state=state)
        for i, state in enumerate(("ALARM", "OK", "ALARM"))
    )

    # Never candidates: a deleted alarm, and another team's.
    make_alarm(account, "deleted", team=team, purpose=False, deleted_at=NOW - day, state="ALARM",
               state_transitioned_at=NOW - 90 * day)  # fmt: skip
    make_alarm(account, "searchers", team=other, purpose=False, orphaned=True, tier="page")
    make_alarm(account, "quiet-no-purpose", team=other, purpose=False)  # notifies nobody often: not listed
    return a
