"""The demo's alert traffic: ninety days of CloudWatch alarm notifications, then a live trickle, posted as
signed SNS envelopes over HTTP to the running portal's webhook, so that the alerts the demo shows went
through the real path (verification, durable store, the worker's processing into state changes and alerts).

The history is shaped like a real estate's and deterministic for a seed and an end time:

- transient blips: managed-service alarms (Lambda, DynamoDB and SQS throttling, Kinesis iterator age) go to
  ALARM for one to four minutes (one in five for longer), several times a week, a few far more often than the rest;
- backlogs: a few of those noisy alarms also went off for real in the last two weeks (throttling or a queue
  that did not drain by itself for half an hour or more), so that tuning them has real alerts to keep;
- pairs that fire together: a service's Lambda ``Errors`` alarm and its public API's ``5XXError`` alarm,
  within a minute of each other;
- a few real incidents: several alarms of one service in ALARM for 20 to 90 minutes;
- one stuck alarm, in ALARM for weeks (its alert is still open), and one flapping alarm, ALARM and OK every
  few minutes for an hour, a few times;
- most alarms never fire (and alarms without actions, or not in OK, never notify here).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portal.demo.sns_signer import SnsSigner, alarm_message

logger = logging.getLogger(__name__)

TOPIC_NAME = "okami-demo-alarms"
HISTORY_DAYS = 90
DEFAULT_SEED = 7
MESSAGE_IDS = uuid.UUID("5d1c8f0e-7a43-4c8e-9a59-0b7d6f2e4c11")  # namespace of the demo's message ids

# What throttles and backs up now and then without anyone being able to do much about it.
MANAGED = {
    ("AWS/Lambda", "Throttles"),
    ("AWS/DynamoDB", "ReadThrottleEvents"),
    ("AWS/DynamoDB", "WriteThrottleEvents"),
    ("AWS/DynamoDB", "ThrottledRequests"),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
}
LAMBDA_ERRORS = ("AWS/Lambda", "Errors")
API_5XX = ("AWS/ApiGateway", "5XXError")
# What goes off in a real incident, first the symptoms.
INCIDENT_METRICS = (
    ("AWS/ApiGateway", "5XXError"),
    ("AWS/ApiGateway", "Latency"),
    ("AWS/Lambda", "Errors"),
    ("AWS/Lambda", "Duration"),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    ("AWS/DynamoDB", "SystemErrors"),
)
FLAPPING_METRICS = (("AWS/ApiGateway", "Latency"), ("AWS/Lambda", "Duration"))
# The estate's naming convention: "<service>-prod[-us]-<resource>-<kind>".
SERVICE_PREFIX = re.compile(r"^(?P<service>[a-z]+(?:-[a-z]+)*?)-prod(?:-us)?-")

# How much of each shape: about 3,000 notifications on the demo estate.
NOISY_ALARMS = 40  # managed-service alarms that blip
NOISY_RATE_PER_WEEK = (0.5, 8.0)  # log-uniform: most blip now and then, a few nearly every day
LONG_BLIP_SHARE = 0.2  # throttling that outlasts a blip (6 to 14 minutes): too long to call transient unseen
PAIR_SERVICES = 4
PAIR_RATE_PER_WEEK = (0.6, 1.8)
INCIDENTS = 6
BACKLOG_ALARMS = 8  # noisy alarms that also had real backlogs
BACKLOGS = (1, 3)  # each, in the last BACKLOG_DAYS (before the days the demo's people have not labelled yet)
BACKLOG_DAYS = (4, 14)  # within the 15 days CloudWatch keeps one-minute data, so the tuning replay sees them
FLAP_SESSIONS = 4
MARGIN = timedelta(minutes=3)  # one alarm's episodes are at least this far apart


@dataclass(frozen=True)
class DemoAlarm:
    """What a notification says about an alarm (from the catalog)."""

    arn: str
    name: str
    namespace: str = ""
    metric_name: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 1
    threshold: float = 1.0
    comparison_operator: str = "GreaterThanOrEqualToThreshold"
    state: str = "OK"
    notifies: bool = True  # has alarm actions, enabled
    team: str = ""  # the owner team's slug

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    @property
    def metric(self) -> tuple[str, str]:
        return (self.namespace, self.metric_name)

    @property
    def service_key(self) -> str:
        """The service (and region) its name places it in, "" for alarms outside the naming convention."""
        found = SERVICE_PREFIX.match(self.name)
        return f"{self.account_id}:{self.region}:{found.group(0)}" if found else ""


@dataclass(frozen=True)
class Change:
    """One alarm state change, as CloudWatch would publish it."""

    at: datetime
    alarm: DemoAlarm
    new_state: str
    old_state: str
    shape: str  # blip, backlog, pair, incident, flap, stuck, live
    value: float


@dataclass
class AlarmHistory:
    changes: list[Change]
    stuck: DemoAlarm | None = None
    flapping: DemoAlarm | None = None
    noisy: list[DemoAlarm] = field(default_factory=list)
    backlogs: list[DemoAlarm] = field(default_factory=list)
    pairs: list[tuple[DemoAlarm, DemoAlarm]] = field(default_factory=list)
    incidents: list[tuple[datetime, list[DemoAlarm]]] = field(default_factory=list)

    @property
    def alarms_fired(self) -> int:
        return len({change.alarm.arn for change in self.changes})


def topic_arn(account_id: str, region: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{TOPIC_NAME}"


def topic_arns(keys: Iterable[tuple[str, str]]) -> list[str]:
    """The demo topics of these (account, region) keys: the alarms of each notify their own."""
    return sorted({topic_arn(account_id, region) for account_id, region in keys})


def signature_version(topic: str) -> str:
    """The topics in us-east-1 sign with SHA256 (SignatureVersion 2), the others keep the default SHA1."""
    return "2" if topic.split(":")[3] == "us-east-1" else "1"


def catalog_alarms() -> list[DemoAlarm]:
    """The live metric alarms of the catalog, in ARN order."""
    from alarms.choices import AlarmType
    from alarms.models import Alarm

    alarms = Alarm.objects.filter(deleted_at__isnull=True, alarm_type=AlarmType.METRIC).order_by("arn")
    return [
        DemoAlarm(
            arn=alarm.arn,
            name=alarm.name,
            namespace=alarm.namespace,
            metric_name=alarm.metric_name,
            dimensions=tuple(sorted((str(k), str(v)) for k, v in (alarm.dimensions or {}).items())),
            statistic=alarm.extended_statistic or alarm.statistic or "Sum",
            period=alarm.period or 60,
            evaluation_periods=alarm.evaluation_periods or 1,
            threshold=alarm.threshold if alarm.threshold is not None else 1.0,
            comparison_operator=alarm.comparison_operator or "GreaterThanOrEqualToThreshold",
            state=alarm.state,
            notifies=bool(alarm.actions_enabled and alarm.alarm_actions),
            team=alarm.owner_team.slug if alarm.owner_team else "",
        )
        for alarm in alarms.select_related("owner_team")
    ]


# --- the history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Episode:
    alarm: DemoAlarm
    opened: datetime
    closed: datetime | None
    shape: str


def _instant(moment: datetime) -> datetime:
    """Milliseconds, as the messages carry them (a state change is stored once per alarm and instant)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class _Planner:
    def __init__(self, alarms: list[DemoAlarm], *, end: datetime, days: int, rng: random.Random):
        self.rng, self.end = rng, end
        self.start = end - timedelta(days=days)
        self.latest = end - timedelta(minutes=10)  # nothing is half-delivered when the load ends
        # Only alarms that notify take part, and only those in OK now fire and recover: one stale in
        # INSUFFICIENT_DATA has had no data for long, and the stuck one is taken from those in ALARM now.
        self.notifying = [a for a in alarms if a.notifies]
        self.eligible = [a for a in self.notifying if a.state == "OK"]
        self.busy: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.episodes: list[_Episode] = []

    def free(self, alarm: DemoAlarm, opened: datetime, closed: datetime | None) -> bool:
        until = closed or datetime.max.replace(tzinfo=UTC)
        if opened < self.start or (closed or opened) > self.latest:
            return False
        return all(until + MARGIN <= begin or end + MARGIN <= opened for begin, end in self.busy[alarm.arn])

    def add(self, alarm: DemoAlarm, opened: datetime, closed: datetime | None, shape: str) -> bool:
        opened, closed = _instant(opened), closed and _instant(closed)
        if not self.free(alarm, opened, closed):
            return False
        self.busy[alarm.arn].append((opened, closed or datetime.max.replace(tzinfo=UTC)))
        self.episodes.append(_Episode(alarm, opened, closed, shape))
        return True

    def moment(self, *, busy_hours: bool = False) -> datetime:
        """A random moment of the period; incidents come more often in working hours (deploys)."""
        moment = self.start + timedelta(seconds=self.rng.uniform(0, (self.latest - self.start).total_seconds()))
        if busy_hours and self.rng.random() < 0.7:
            moment = moment.replace(hour=self.rng.randint(8, 17), minute=self.rng.randint(0, 59))
        return moment

    def seconds(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.uniform(low, high))

    def taken(self) -> set[str]:
        return set(self.busy)

    # The shapes, the rarest first so that they always find their alarms free.

    def stuck(self) -> DemoAlarm | None:
        in_alarm = [a for a in self.notifying if a.state == "ALARM"]
        candidates = in_alarm or self.eligible
        if not candidates:
            return None
        alarm = self.rng.choice(candidates)
        opened = self.end - timedelta(days=self.rng.uniform(21, 42), seconds=self.rng.uniform(0, 3600))
        self.add(alarm, max(opened, self.start + timedelta(hours=1)), None, "stuck")
        return alarm

    def flapping(self) -> DemoAlarm | None:
        candidates = [a for a in self.eligible if a.metric in FLAPPING_METRICS and a.arn not in self.taken()]
        candidates = candidates or [a for a in self.eligible if a.arn not in self.taken()]
        if not candidates:
            return None
        alarm = self.rng.choice(candidates)
        for _ in range(FLAP_SESSIONS):
            start = self.moment(busy_hours=True)
            if not self.free(alarm, start, start + timedelta(minutes=90)):
                continue
            moment, stop = start, start + self.seconds(50 * 60, 70 * 60)
            while moment < stop:
                closed = moment + self.seconds(60, 5 * 60)
                self.episodes.append(_Episode(alarm, _instant(moment), _instant(closed), "flap"))
                moment = closed + self.seconds(60, 4 * 60)
            self.busy[alarm.arn].append((_instant(start), _instant(moment)))
        return alarm

    def incidents(self) -> list[tuple[datetime, list[DemoAlarm]]]:
        by_service = defaultdict(list)
        for alarm in self.eligible:
            if alarm.service_key and alarm.metric in INCIDENT_METRICS:
                by_service[alarm.service_key].append(alarm)
        services = sorted(key for key, alarms in by_service.items() if len(alarms) >= 3)
        found = []
        for key in self.rng.sample(services, min(INCIDENTS, len(services))):
            start = self.moment(busy_hours=True)
            # The symptoms (5XX, latency) and a few of their causes.
            candidates = sorted(by_service[key], key=lambda a: (INCIDENT_METRICS.index(a.metric), a.arn))
            chosen = candidates[:1] + self.rng.sample(candidates[1:], min(len(candidates) - 1, self.rng.randint(2, 5)))
            fired = []
            for alarm in chosen:
                opened = start + self.seconds(0, 6 * 60)
                if self.add(alarm, opened, opened + self.seconds(20 * 60, 90 * 60), "incident"):
                    fired.append(alarm)
            if fired:
                found.append((_instant(start), fired))
        return found

    def pairs(self) -> list[tuple[DemoAlarm, DemoAlarm]]:
        apis, functions = {}, defaultdict(list)
        for alarm in self.eligible:
            if alarm.metric == API_5XX and alarm.name.startswith(alarm.service_key.split(":")[-1] + "api-"):
                apis[alarm.service_key] = alarm
            elif alarm.metric == LAMBDA_ERRORS and alarm.service_key:
                functions[alarm.service_key].append(alarm)
        services = sorted(key for key in apis if functions[key])
        pairs = []
        for key in self.spread(services, team_of={key: apis[key].team for key in services}, count=PAIR_SERVICES):
            api = apis[key]
            for function in self.rng.sample(functions[key], min(len(functions[key]), self.rng.randint(1, 2))):
                pairs.append((function, api))
        for function, api in pairs:
            for start in self.arrivals(self.rng.uniform(*PAIR_RATE_PER_WEEK)):
                lag = self.seconds(5, 55)  # which one CloudWatch evaluates first varies
                first, second = (function, api) if self.rng.random() < 0.6 else (api, function)
                first_closed = start + self.seconds(2 * 60, 8 * 60)
                second_closed = max(first_closed + self.seconds(-60, 90), start + lag + timedelta(minutes=1))
                if self.free(first, start, first_closed) and self.free(second, start + lag, second_closed):
                    self.add(first, start, first_closed, "pair")
                    self.add(second, start + lag, second_closed, "pair")
        return pairs

    def spread(self, keys: list[str], *, team_of: dict[str, str], count: int) -> list[str]:
        """``count`` of the keys at random, one of each team first: every team's first review has a pair."""
        by_team = defaultdict(list)
        for key in keys:
            by_team[team_of[key]].append(key)
        chosen = [self.rng.choice(by_team[team]) for team in sorted(by_team)][:count]
        rest = [key for key in keys if key not in chosen]
        return chosen + self.rng.sample(rest, min(count - len(chosen), len(rest)))

    def blips(self) -> list[DemoAlarm]:
        managed = [a for a in self.eligible if a.metric in MANAGED and a.arn not in self.taken()]
        noisy = self.rng.sample(managed, min(NOISY_ALARMS, len(managed)))
        low, high = (math.log(rate) for rate in NOISY_RATE_PER_WEEK)
        for alarm in noisy:
            for start in self.arrivals(math.exp(self.rng.uniform(low, high))):
                lasting = timedelta(minutes=self.rng.randint(1, 4), seconds=self.rng.uniform(0, 20))
                if self.rng.random() < LONG_BLIP_SHARE:
                    lasting = timedelta(minutes=self.rng.uniform(6, 14))
                self.add(alarm, start, start + lasting, "blip")
        return sorted(noisy, key=lambda a: a.arn)

    def backlogs(self, noisy: list[DemoAlarm]) -> list[DemoAlarm]:
        """A few noisy alarms' real episodes: 25 to 60 minutes, recent enough for the tuning replay."""
        chosen = self.rng.sample(noisy, min(BACKLOG_ALARMS, len(noisy)))
        for alarm in chosen:
            for _ in range(self.rng.randint(*BACKLOGS)):
                opened = self.end - timedelta(days=self.rng.uniform(*BACKLOG_DAYS))
                self.add(alarm, opened, opened + self.seconds(25 * 60, 60 * 60), "backlog")
        return sorted(chosen, key=lambda a: a.arn)

    def arrivals(self, per_week: float) -> list[datetime]:
        """The moments of a Poisson process of this rate over the period."""
        moments, moment = [], self.start
        while True:
            moment += timedelta(weeks=self.rng.expovariate(per_week))
            if moment >= self.latest:
                return moments
            moments.append(moment)


def alarm_history(
    alarms: list[DemoAlarm], *, end: datetime, seed: int = DEFAULT_SEED, days: int = HISTORY_DAYS
) -> AlarmHistory:
    """The state changes of ``alarms`` over ``days`` up to ``end``, in time order; the same for the same
    alarms, seed and end."""
    planner = _Planner(sorted(alarms, key=lambda a: a.arn), end=end, days=days, rng=random.Random(seed))
    history = AlarmHistory(changes=[])
    history.stuck = planner.stuck()
    history.flapping = planner.flapping()
    history.incidents = planner.incidents()
    history.pairs = planner.pairs()
    history.noisy = planner.blips()
    history.backlogs = planner.backlogs(history.noisy)
    history.changes = _changes(planner.episodes, planner.rng)
    return history


def _changes(episodes: list[_Episode], rng: random.Random) -> list[Change]:
    """Each episode's ALARM and (unless it is still open) its OK, with the state each left."""
    changes = []
    for episode in sorted(episodes, key=lambda e: (e.opened, e.alarm.arn)):
        threshold = episode.alarm.threshold
        changes.append(Change(episode.opened, episode.alarm, "ALARM", "OK", episode.shape, _above(threshold, rng)))
        if episode.closed is not None:
            below = round(threshold * rng.uniform(0, 0.8), 1)
            changes.append(Change(episode.closed, episode.alarm, "OK", "ALARM", episode.shape, below))
    changes.sort(key=lambda c: (c.at, c.alarm.arn, c.new_state))
    return changes


def _above(threshold: float, rng: random.Random) -> float:
    return round(threshold * rng.uniform(1.0, 4.0) + rng.randint(0, 3), 1)


# --- the notifications ------------------------------------------------------------------------------


def _reason(change: Change) -> str:
    alarm = change.alarm
    points = alarm.evaluation_periods
    when = change.at.strftime("%d/%m/%y %H:%M:%S")
    crossed = "was" if change.new_state == "ALARM" else "was not"
    return (
        f"Threshold Crossed: 1 out of the last {points} datapoints [{change.value} ({when})] {crossed} greater than "
        f"or equal to the threshold ({alarm.threshold}) (minimum 1 datapoint for "
        f"{change.old_state} -> {change.new_state} transition)."
    )


def _trigger(alarm: DemoAlarm) -> dict:
    percentile = alarm.statistic.startswith("p")
    return {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "ExtendedStatistic" if percentile else "Statistic",
        **({"ExtendedStatistic": alarm.statistic} if percentile else {"Statistic": alarm.statistic.upper()}),
        "Unit": None,
        "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }


REGION_NAMES = {"eu-west-1": "EU (Ireland)", "us-east-1": "US East (N. Virginia)"}


@dataclass
class SendResult:
    posted: int = 0
    refused: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_problem: str = ""


Transport = Callable[[bytes, dict[str, str]], tuple[int, str]]


def http_transport(url: str, *, timeout: float = 15.0) -> Transport:
    """Posts a body as SNS does (text/plain, its headers) and returns the status and the answer."""

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (the demo's own server)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                return answer.status, answer.read(2000).decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(2000).decode(errors="replace")

    return post


class AlertTraffic:
    """Signs changes into SNS envelopes (one demo topic per account and region) and posts them."""

    def __init__(
        self,
        *,
        cert_dir: str | Path,
        transport: Transport,
        workers: int = 6,
        attempts: int = 6,
        backoff: float = 0.5,
        stop: threading.Event | None = None,
    ):
        self.cert_dir = Path(cert_dir)
        self.transport, self.workers, self.attempts, self.backoff = transport, workers, attempts, backoff
        self.stop = stop or threading.Event()
        self._signers: dict[str, SnsSigner] = {}
        self._lock = threading.Lock()

    def signer(self, region: str) -> SnsSigner:
        with self._lock:
            if region not in self._signers:
                self._signers[region] = SnsSigner(self.cert_dir, region=region)
            return self._signers[region]

    def envelope(self, change: Change) -> dict:
        alarm = change.alarm
        topic = topic_arn(alarm.account_id, alarm.region)
        message = alarm_message(
            arn=alarm.arn,
            name=alarm.name,
            new_state=change.new_state,
            old_state=change.old_state,
            at=change.at,
            reason=_reason(change),
            trigger=_trigger(alarm),
        )
        where = REGION_NAMES.get(alarm.region, alarm.region)
        # SNS publishes a moment after the state change; the id is the change's own, so a change posted
        # twice is stored once.
        return self.signer(alarm.region).envelope(
            topic_arn=topic,
            message=message,
            subject=f'{change.new_state}: "{alarm.name}" in {where}'[:100],
            timestamp=change.at + timedelta(milliseconds=150 + int(change.value * 7) % 900),
            version=signature_version(topic),
            message_id=str(uuid.uuid5(MESSAGE_IDS, f"{alarm.arn}|{change.at.isoformat()}|{change.new_state}")),
        )

    def post(self, envelope: dict) -> tuple[int, str]:
        """Post one envelope; a 5xx or an unreachable server is retried with a growing pause."""
        body = json.dumps(envelope).encode()
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": envelope["Type"],
            "x-amz-sns-message-id": envelope["MessageId"],
            "x-amz-sns-topic-arn": envelope["TopicArn"],
            "User-Agent": "Amazon Simple Notification Service Agent",
        }
        status, answer = 0, ""
        for attempt in range(self.attempts):
            try:
                status, answer = self.transport(body, headers)
            except OSError as exc:
                status, answer = 0, str(exc)
            if 0 < status < 500:
                return status, answer
            if attempt + 1 < self.attempts and self.stop.wait(min(8.0, self.backoff * 2**attempt)):
                break
        return status, answer

    def send(self, changes: list[Change]) -> SendResult:
        """Post the changes' envelopes in time order, ``workers`` at a time; stops early when asked to."""
        result, started = SendResult(), time.monotonic()
        lock = threading.Lock()

        def one(change: Change) -> None:
            if self.stop.is_set():
                return
            status, answer = self.post(self.envelope(change))
            with lock:
                if status == 200:
                    result.posted += 1
                    return
                if 400 <= status < 500:
                    result.refused += 1
                else:
                    result.failed += 1
                result.first_problem = result.first_problem or f"{status}: {answer[:300]}"

        if self.workers <= 1:
            for change in changes:
                one(change)
        else:
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="demo-sns") as pool:
                list(pool.map(one, changes))
        result.seconds = time.monotonic() - started
        return result

    def trickle(
        self,
        alarms: list[DemoAlarm],
        *,
        rng: random.Random,
        every: tuple[float, float] = (20, 60),
        lasting: tuple[float, float] = (60, 180),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        pairs: list[tuple[DemoAlarm, DemoAlarm]] = (),
        pair_share: float = 0.3,
    ) -> int:
        """Until stopped: a blip of a random alarm every ``every`` seconds, its OK ``lasting`` seconds later,
        at the real time; now and then (``pair_share``) a pair instead, both alarms at once (one failure, one
        incident). The blips still open when it stops are closed then. Returns how many it sent."""
        open_until: dict[DemoAlarm, float] = {}
        sent = 0
        next_blip = time.monotonic() + rng.uniform(*every)

        def change(alarm: DemoAlarm, state: str) -> None:
            nonlocal sent
            old = "OK" if state == "ALARM" else "ALARM"
            threshold = alarm.threshold
            value = _above(threshold, rng) if state == "ALARM" else round(threshold * rng.uniform(0, 0.8), 1)
            status, answer = self.post(self.envelope(Change(_instant(now()), alarm, state, old, "live", value)))
            sent += 1
            if status != 200:
                logger.warning("the demo's live alert was not taken: %s %s", status, answer[:200])

        while not self.stop.is_set():
            moment = time.monotonic()
            for alarm, until in sorted(open_until.items(), key=lambda item: item[1]):
                if until <= moment:
                    del open_until[alarm]
                    change(alarm, "OK")
            free = [a for a in alarms if a not in open_until]
            free_pairs = [p for p in pairs if not set(p) & set(open_until)]
            if moment >= next_blip and (free or free_pairs):
                firing = list(rng.choice(free_pairs)) if free_pairs and rng.random() < pair_share else []
                for alarm in firing or [rng.choice(free or alarms)]:
                    if alarm in open_until:
                        continue
                    change(alarm, "ALARM")
                    open_until[alarm] = time.monotonic() + rng.uniform(*lasting)
                next_blip = time.monotonic() + rng.uniform(*every)
            self.stop.wait(max(0.05, min([next_blip, *open_until.values()]) - time.monotonic()))
        closing, self.attempts = self.attempts, 1  # the server is about to stop: one try each
        for alarm in list(open_until):
            change(alarm, "OK")
        self.attempts = closing
        return sent


# --- the demo ---------------------------------------------------------------------------------------


class DemoAlertTraffic:
    """Loads the history into the running portal then keeps the trickle going, in a daemon thread."""

    def __init__(
        self,
        *,
        url: str,
        cert_dir: str | Path,
        topics: list[str],
        say: Callable[[str], None],
        seed: int = DEFAULT_SEED,
        workers: int = 6,
        reminder: str = "",
        after_history: Callable[[], None] | None = None,
        live_pair: Callable[[tuple[DemoAlarm, DemoAlarm]], bool] = lambda pair: True,
    ):
        """``reminder`` is said again after the load, whose request log has scrolled the banner away;
        ``after_history`` runs once the history is in (processed by the worker), before the live trickle;
        ``live_pair`` chooses the pairs the trickle fires now and then (those that page, say)."""
        self.topics, self.say, self.seed, self.reminder = topics, say, seed, reminder
        self.after_history, self.live_pair = after_history, live_pair
        self.stop_event = threading.Event()
        self.traffic = AlertTraffic(
            cert_dir=cert_dir, transport=http_transport(url), workers=workers, stop=self.stop_event
        )
        self.thread = threading.Thread(target=self._run, name="demo-alert-traffic", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _run(self) -> None:
        from django.db import connections

        try:
            history = self._load()
            if history is not None and not self.stop_event.is_set():
                self.traffic.trickle(
                    [a for a in history.noisy if a != history.stuck],
                    rng=random.Random(f"{self.seed}-live"),
                    pairs=[pair for pair in history.pairs if self.live_pair(pair)],
                )
        except Exception:  # the demo goes on without its traffic
            logger.exception("the demo's alert traffic stopped")
            self.say("The demo's alert traffic stopped on an error (see the log above); the portal runs on.")
        finally:
            connections.close_all()

    def _load(self) -> AlarmHistory | None:
        from incidents.models import InboundMessage

        alarms = catalog_alarms()
        history = alarm_history(alarms, end=_instant(datetime.now(UTC)).replace(microsecond=0), seed=self.seed)
        if InboundMessage.objects.filter(topic_arn__in=self.topics).exists():
            self.say("Alert history: loaded by an earlier run of the demo; only the live trickle starts")
            self._history_done()
            return history
        result = self.traffic.send(history.changes)
        if self.stop_event.is_set():
            return None
        problems = f"; {result.refused} refused, {result.failed} failed: {result.first_problem}"
        self.say(
            f"Alert history: {HISTORY_DAYS} days loaded, {result.posted} of {len(history.changes)} notifications "
            f"posted to /hooks/sns/ in {result.seconds:.0f}s ({history.alarms_fired} of {len(alarms)} alarms "
            f"fired; {len(history.noisy)} noisy ({len(history.backlogs)} with real backlogs), "
            f"{len(history.pairs)} pairs, {len(history.incidents)} incidents, "
            f"stuck: {history.stuck.name if history.stuck else '-'}, "
            f"flapping: {history.flapping.name if history.flapping else '-'})"
            f"{problems if result.first_problem else ''}"
        )
        if self._await_processing(started=time.monotonic() - result.seconds):
            self._history_done()
            if self.reminder:
                self.say(self.reminder)
        return history

    def _history_done(self) -> None:
        """Run ``after_history``; the live trickle goes on whatever becomes of it."""
        if self.after_history is None or self.stop_event.is_set():
            return
        try:
            self.after_history()
        except Exception:
            logger.exception("the demo's step after the alert history failed")
            self.say("The demo's step after the alert history failed (see the log above); the portal runs on.")

    def _await_processing(self, *, started: float, limit: float = 900) -> bool:
        """Report when the worker has turned the stored messages into alerts; False when stopped or out of time."""
        from incidents.models import Alert, InboundMessage, InboundStatus, StateChange

        deadline = time.monotonic() + limit
        pending = InboundMessage.objects.filter(topic_arn__in=self.topics, status=InboundStatus.PENDING)
        while pending.exists():
            if self.stop_event.wait(2) or time.monotonic() > deadline:
                return False
        alerts = Alert.objects.all()
        self.say(
            f"Alert history: processed by the worker {time.monotonic() - started:.0f}s after the load began: "
            f"{StateChange.objects.count()} state changes, {alerts.count()} alerts "
            f"({alerts.filter(closed_at__isnull=True).count()} open); the live trickle is on"
        )
        return True
