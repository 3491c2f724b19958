"""Suggested purpose, signal kind and tier of an alarm, from what its metric means.

What a metric means is knowledge, not logic: that Lambda ``Errors`` is a cause worth a ticket, or that an
API's 5XX responses are a symptom worth a page, is written once per metric in ``alarms/data/
metric_library.toml``, where it can be read, reviewed and extended without touching code. This module
only loads that library, finds the entry of an alarm's metric and fills the entry's texts with the alarm's
own definition (resource, threshold, period). A suggestion is a starting point for a human, never an
assignment.

Matching: entries are indexed by (namespace, metric name), so finding the candidates of a metric is one
lookup. Candidates are tried in order: exact entries of the metric (those with a ``resource_pattern``,
such as dead-letter queues, before the generic one; file order otherwise), then name-pattern entries of
the namespace, then, for custom namespaces only (outside ``AWS/`` and not one of AWS's own, such as
``CloudWatchSynthetics``), the ``"*"`` entries. The first candidate whose resource pattern (if any)
matches wins. A metric-math or anomaly-detection alarm is matched by its first metric query that has an
entry, with that query's dimensions, statistic and period. Composite alarms get no suggestion.

Everything here is pure: no database, no settings. Dimension values, metric names and namespaces come
from AWS accounts and are untrusted: they are inserted into the texts as they are, never interpreted.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alarms.choices import SignalKind, Tier

LIBRARY_PATH = Path(__file__).resolve().parent.parent / "data" / "metric_library.toml"
DISTANCES = ("edge", "compute", "data")
TEXT_FIELDS = ("detects", "customer_impact", "action")
MAX_TEXT = 1000
MAX_ID = 64  # Alarm.suggested_by
ANY_NAMESPACE = "*"

_REQUIRED = {"id", "namespace", "signal_kind", "tier", "distance", *TEXT_FIELDS}
_OPTIONAL = {
    "metrics",
    "name_pattern",
    "examples",
    "resource_dimensions",
    "resource_pattern",
    "noun",
    "plural",
    "unit",
    "average_is_rate",
}
_TOP_LEVEL = {"metric", "aws_namespaces"}
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")

_COMPARISONS = {
    "GreaterThanThreshold": "more than",
    "GreaterThanOrEqualToThreshold": "at least",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "at most",
}
_BANDS = {
    "LessThanLowerOrGreaterThanUpperThreshold": "outside",
    "GreaterThanUpperThreshold": "above",
    "LessThanLowerThreshold": "below",
}
_BAND_COUNTS = {"outside": "an unusual number of", "above": "unusually many", "below": "unusually few"}
_STATISTICS = {
    "Sum": "sum",
    "Average": "average",
    "Maximum": "maximum",
    "Minimum": "minimum",
    "SampleCount": "sample count",
}
_UNTRUSTED = ("resource", "metric", "namespace")  # never capitalised: inserted exactly as AWS has them


class LibraryError(ValueError):
    """The metric library cannot be used as written."""


@dataclass(frozen=True)
class Suggestion:
    entry: str
    detects: str
    customer_impact: str
    action: str
    signal_kind: str
    tier: str
    distance: str


@dataclass(frozen=True)
class LibraryEntry:
    """One ``[[metric]]`` table of the library, validated."""

    id: str
    namespace: str
    metrics: tuple[str, ...]
    name_pattern: re.Pattern | None
    examples: tuple[str, ...]
    resource_dimensions: tuple[str, ...]
    resource_pattern: re.Pattern | None
    detects: str
    customer_impact: str
    action: str
    signal_kind: str
    tier: str
    distance: str
    noun: str = ""
    plural: str = ""
    unit: str = ""
    average_is_rate: bool = False


@dataclass(frozen=True)
class Library:
    entries: tuple[LibraryEntry, ...]
    version: str
    aws_namespaces: frozenset[str]
    exact: dict[tuple[str, str], tuple[LibraryEntry, ...]]
    patterns: dict[str, tuple[LibraryEntry, ...]]

    def entry(self, entry_id: str) -> LibraryEntry | None:
        return next((entry for entry in self.entries if entry.id == entry_id), None)

    def match(self, namespace: str, metric_name: str, dimensions: dict) -> tuple[LibraryEntry, str | None] | None:
        """The first entry for this metric and its resource name (None when no dimension names one)."""
        for entry in self._candidates(namespace, metric_name):
            resource = _resource_name(entry, dimensions)
            if entry.resource_pattern is None or (resource and entry.resource_pattern.search(resource)):
                return entry, resource
        return None

    def _candidates(self, namespace: str, metric_name: str):
        yield from self.exact.get((namespace, metric_name), ())
        yield from _by_pattern(self.patterns.get(namespace, ()), metric_name)
        if self.is_custom(namespace):
            yield from self.exact.get((ANY_NAMESPACE, metric_name), ())
            yield from _by_pattern(self.patterns.get(ANY_NAMESPACE, ()), metric_name)

    def is_custom(self, namespace: str) -> bool:
        return bool(namespace) and not namespace.startswith("AWS/") and namespace not in self.aws_namespaces


def _by_pattern(entries, metric_name: str):
    return (entry for entry in entries if entry.name_pattern.search(metric_name))


# --- Loading and validation ------------------------------------------------------------------------------


def load_library(path: Path | str = LIBRARY_PATH) -> Library:
    """Read, validate and index a library file; LibraryError names the file and the faulty entry."""
    path = Path(path)
    data = path.read_bytes()
    try:
        document = tomllib.loads(data.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LibraryError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(document) - _TOP_LEVEL
    if unknown:
        raise LibraryError(f"{path}: unknown top-level keys: {', '.join(sorted(unknown))}")
    tables = document.get("metric", [])
    if not isinstance(tables, list) or not tables:
        raise LibraryError(f"{path}: no [[metric]] entries")
    entries = tuple(_entry(path, index, table) for index, table in enumerate(tables))
    _check_unique(path, entries)
    return Library(
        entries=entries,
        version=hashlib.sha256(data).hexdigest()[:12],
        aws_namespaces=frozenset(_strings(document.get("aws_namespaces", []), f"{path}: aws_namespaces")),
        exact=_exact_index(entries),
        patterns=_pattern_index(entries),
    )


def _entry(path: Path, index: int, table: dict) -> LibraryEntry:
    if not isinstance(table, dict):
        raise LibraryError(f"{path}: entry #{index + 1}: not a table")
    label = f"{path}: entry {table.get('id', f'#{index + 1}')!r}"
    _check_keys(label, table)
    texts = {name: _text(label, table, name) for name in ("id", "namespace", *TEXT_FIELDS)}
    entry = LibraryEntry(
        **texts,
        metrics=_strings(table.get("metrics", []), f"{label}: metrics"),
        name_pattern=_regex(label, table, "name_pattern", re.IGNORECASE),
        examples=_strings(table.get("examples", []), f"{label}: examples"),
        resource_dimensions=_strings(table.get("resource_dimensions", []), f"{label}: resource_dimensions"),
        resource_pattern=_regex(label, table, "resource_pattern"),
        signal_kind=_choice(label, table, "signal_kind", SignalKind.values),
        tier=_choice(label, table, "tier", Tier.values),
        distance=_choice(label, table, "distance", DISTANCES),
        noun=_optional_text(label, table, "noun"),
        plural=_optional_text(label, table, "plural"),
        unit=_optional_text(label, table, "unit"),
        average_is_rate=_flag(label, table, "average_is_rate"),
    )
    _check_entry(label, entry)
    return entry


def _check_keys(label: str, table: dict) -> None:
    unknown = set(table) - _REQUIRED - _OPTIONAL
    if unknown:
        raise LibraryError(f"{label}: unknown keys: {', '.join(sorted(unknown))}")
    missing = _REQUIRED - set(table)
    if missing:
        raise LibraryError(f"{label}: missing keys: {', '.join(sorted(missing))}")


def _check_entry(label: str, entry: LibraryEntry) -> None:
    if not _ID.fullmatch(entry.id) or len(entry.id) > MAX_ID:
        raise LibraryError(f"{label}: id must be a lower-case slug of at most {MAX_ID} characters")
    if bool(entry.metrics) == bool(entry.name_pattern):
        raise LibraryError(f"{label}: give either metrics or name_pattern, not both or neither")
    if entry.noun and entry.unit:
        raise LibraryError(f"{label}: give noun or unit, not both")
    if (entry.plural or entry.average_is_rate) and not entry.noun:
        raise LibraryError(f"{label}: plural and average_is_rate need a noun")
    if entry.examples and not entry.name_pattern:
        raise LibraryError(f"{label}: examples are for name_pattern entries")
    for example in entry.examples:
        if not entry.name_pattern.search(example):
            raise LibraryError(f"{label}: name_pattern does not match its example {example!r}")


def _check_unique(path: Path, entries: tuple[LibraryEntry, ...]) -> None:
    seen = set()
    for entry in entries:
        if entry.id in seen:
            raise LibraryError(f"{path}: entry {entry.id!r}: id used twice")
        seen.add(entry.id)


def _text(label: str, table: dict, key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LibraryError(f"{label}: {key} must be a non-empty string")
    return value.strip()


def _optional_text(label: str, table: dict, key: str) -> str:
    return _text(label, table, key) if key in table else ""


def _flag(label: str, table: dict, key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise LibraryError(f"{label}: {key} must be true or false")
    return value


def _strings(value, label: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise LibraryError(f"{label}: must be a list of non-empty strings")
    return tuple(value)


def _choice(label: str, table: dict, key: str, allowed) -> str:
    value = table.get(key)
    if value not in allowed:
        raise LibraryError(f"{label}: {key} {value!r} is not one of {', '.join(allowed)}")
    return value


def _regex(label: str, table: dict, key: str, flags: int = 0) -> re.Pattern | None:
    if key not in table:
        return None
    try:
        return re.compile(_text(label, table, key), flags)
    except re.error as exc:
        raise LibraryError(f"{label}: {key} is not a valid regular expression: {exc}") from exc


def _exact_index(entries) -> dict[tuple[str, str], tuple[LibraryEntry, ...]]:
    index: dict[tuple[str, str], list[LibraryEntry]] = {}
    for entry in entries:
        for metric in entry.metrics:
            index.setdefault((entry.namespace, metric), []).append(entry)
    # Resource-pattern entries (a DLQ) before the generic entry of the same metric; file order otherwise.
    return {key: tuple(sorted(found, key=lambda e: e.resource_pattern is None)) for key, found in index.items()}


def _pattern_index(entries) -> dict[str, tuple[LibraryEntry, ...]]:
    index: dict[str, list[LibraryEntry]] = {}
    for entry in entries:
        if entry.name_pattern:
            index.setdefault(entry.namespace, []).append(entry)
    return {namespace: tuple(found) for namespace, found in index.items()}


_LIBRARY = load_library()
LIBRARY_VERSION: str = _LIBRARY.version


def library_entries() -> list[LibraryEntry]:
    """The entries of the library, in file order."""
    return list(_LIBRARY.entries)


def entry_distance(entry_id: str) -> str | None:
    """How far from the customer the entry's metric is ("edge", "compute", "data"), None if no such entry."""
    entry = _LIBRARY.entry(entry_id)
    return entry.distance if entry else None


# --- Suggesting ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Watched:
    """The metric an alarm watches, wherever its definition keeps it."""

    namespace: str
    metric_name: str
    dimensions: dict
    statistic: str
    period: int | None


def suggest(
    *,
    alarm_type: str,
    namespace: str,
    metric_name: str,
    dimensions: dict,
    statistic: str,
    extended_statistic: str,
    period: int | None,
    evaluation_periods: int | None,
    datapoints_to_alarm: int | None,
    threshold: float | None,
    comparison_operator: str,
    threshold_metric_id: str,
    metrics: list,
    name: str,
    library: Library | None = None,
) -> Suggestion | None:
    """The suggested purpose, signal kind and tier of an alarm, from its definition (AlarmRecord's field
    names); None for composite alarms and metrics the library does not know."""
    if alarm_type == "composite":
        return None
    if metric_name:
        watched_metrics = [
            _Watched(namespace, metric_name, _mapping(dimensions), extended_statistic or statistic, period)
        ]
    elif _returns_an_expression(metrics, threshold_metric_id):
        return None  # the threshold applies to an expression (an error rate…), which no entry's words describe
    else:
        watched_metrics = _queried_metrics(metrics)
    for watched in watched_metrics:
        found = (library or _LIBRARY).match(watched.namespace, watched.metric_name, watched.dimensions)
        if found:
            entry, resource = found
            values = _values(
                watched,
                entry,
                resource=resource or name or "",
                band=bool(threshold_metric_id),  # AWS sets it only for anomaly detection, naming the band
                threshold=threshold,
                comparison=comparison_operator,
                window=(evaluation_periods, datapoints_to_alarm),
            )
            return _suggestion(entry, values)
    return None


def _returns_an_expression(metrics: list, threshold_metric_id: str) -> bool:
    """Whether a metric-math alarm compares its threshold with an expression rather than a metric. An
    anomaly-detection alarm returns its band (``threshold_metric_id``) and the metric: that is a metric."""
    returned = [
        q
        for q in metrics or []
        if isinstance(q, dict) and q.get("ReturnData", True) and q.get("Id") != threshold_metric_id
    ]
    return any("Expression" in q and "MetricStat" not in q for q in returned)


def _queried_metrics(metrics: list) -> list[_Watched]:
    """The metrics of a metric-math or anomaly-detection alarm's queries, in query order."""
    found = []
    for query in metrics or []:
        stat = query.get("MetricStat") if isinstance(query, dict) else None
        metric = stat.get("Metric") if isinstance(stat, dict) else None
        if not isinstance(metric, dict) or not metric.get("MetricName"):
            continue
        dimensions = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions") or [] if isinstance(d, dict)}
        found.append(
            _Watched(
                metric.get("Namespace") or "",
                metric["MetricName"],
                dimensions,
                stat.get("Stat") or "",
                stat.get("Period"),
            )
        )
    return found


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _resource_name(entry: LibraryEntry, dimensions: dict) -> str | None:
    for dimension in entry.resource_dimensions:
        value = dimensions.get(dimension)
        if value:
            value = str(value)
            return value.rsplit(":", 1)[-1] if value.startswith("arn:") else value
    return None


def _suggestion(entry: LibraryEntry, values: dict[str, str]) -> Suggestion:
    return Suggestion(
        entry=entry.id,
        detects=render(entry.detects, values),
        customer_impact=render(entry.customer_impact, values),
        action=render(entry.action, values),
        signal_kind=entry.signal_kind,
        tier=entry.tier,
        distance=entry.distance,
    )


def render(template: str, values: dict[str, str]) -> str:
    """The template with its known placeholders filled (unknown ones stay as written), cut to MAX_TEXT."""
    text = _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


# --- Placeholder values ----------------------------------------------------------------------------------


def _values(watched: _Watched, entry: LibraryEntry, *, resource, band, threshold, comparison, window) -> dict:
    wording = _wording(entry, watched.statistic, watched.period, band, threshold, comparison, window)
    return wording | {"resource": resource, "metric": watched.metric_name, "namespace": watched.namespace}


@lru_cache(maxsize=4096)
def _wording(entry: LibraryEntry, statistic, period, band, threshold, comparison, window) -> dict:
    """The values that depend on the definition alone, which thousands of alarms of an estate share: worked
    out once per definition (the caller copies them, never changes them)."""
    statistic = statistic_words(statistic)
    values = {
        "condition": condition_words(comparison, threshold, band=band),
        "quantity": _quantity(entry, comparison, threshold, band=band, statistic=statistic),
        "threshold": number(threshold) if threshold is not None else "its threshold",
        "statistic": statistic,
        "per": per_words(period),
        "period": duration_words(period) or "one period",
        "window": window_words(period, *window),
    }
    return values | {key.capitalize(): _capitalised(value) for key, value in values.items()}


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def number(value: float) -> str:
    """A threshold as people write it: 1.0 → "1", 99.5 → "99.5"."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.15g}"


def statistic_words(statistic: str) -> str:
    """ "Sum" → "sum", "SampleCount" → "sample count", "p99" → "p99"; other extended statistics as given."""
    if statistic in _STATISTICS:
        return _STATISTICS[statistic]
    if re.fullmatch(r"[pP]\d+(?:\.\d+)?", statistic or ""):
        return statistic.lower()
    return statistic or "value"


def condition_words(comparison: str, threshold: float | None, *, band: bool = False) -> str:
    """ "more than 1", "at least 5", "less than 99.5", "at most 0"; "outside its expected band" (or
    "above", "below") for anomaly detection."""
    if band or comparison in _BANDS:
        return f"{_BANDS.get(comparison, 'outside')} its expected band"
    if comparison in _COMPARISONS and threshold is not None:
        return f"{_COMPARISONS[comparison]} {number(threshold)}"
    return "past its threshold"


def _quantity(entry: LibraryEntry, comparison, threshold, *, band: bool, statistic: str) -> str:
    condition = condition_words(comparison, threshold, band=band)
    plural = entry.plural or f"{entry.noun}s"
    if band or comparison in _BANDS:
        return f"{_BAND_COUNTS[_BANDS.get(comparison, 'outside')]} {plural}" if entry.noun else condition
    if comparison not in _COMPARISONS or threshold is None:
        return f"an unexpected number of {plural}" if entry.noun else condition
    if entry.noun and entry.average_is_rate and statistic == "average":
        return f"{_COMPARISONS[comparison]} {number(round(threshold * 100, 10))}% {plural}"
    if entry.noun:
        return f"{condition} {entry.noun if threshold == 1 else plural}"
    if entry.unit:
        return f"{condition}{'' if entry.unit == '%' else ' '}{entry.unit}"
    return condition


def duration_words(seconds: int | None) -> str:
    """60 → "a minute", 300 → "5 minutes", 3600 → "an hour", 90 → "90 seconds"; "" when unknown."""
    if not seconds:
        return ""
    for size, unit, one in ((86400, "day", "a day"), (3600, "hour", "an hour"), (60, "minute", "a minute")):
        if seconds % size == 0:
            count = seconds // size
            return one if count == 1 else f"{count} {unit}s"
    return "a second" if seconds == 1 else f"{seconds} seconds"


def per_words(seconds: int | None) -> str:
    """The period as a rate: "a minute", "an hour", "in 5 minutes", "in 90 seconds"."""
    words = duration_words(seconds)
    if not words:
        return "per period"
    return words if words.startswith(("a ", "an ")) else f"in {words}"


def window_words(period: int | None, evaluation_periods: int | None, datapoints_to_alarm: int | None) -> str:
    """ "in each of 3 periods of a minute", "in 2 of 3 periods of 5 minutes", "in one period of an hour"."""
    of = f" of {duration_words(period)}" if period else ""
    periods = evaluation_periods or 1
    needed = datapoints_to_alarm if datapoints_to_alarm and datapoints_to_alarm < periods else periods
    if periods == 1:
        return f"in one period{of}"
    if needed == periods:
        return f"in each of {periods} periods{of}"
    return f"in {needed} of {periods} periods{of}"
