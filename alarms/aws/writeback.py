"""The parameters that write a catalog alarm back to AWS exactly as it is defined.

PutMetricAlarm and PutCompositeAlarm replace the whole definition: a field left out is a field reset. So
a tune, a merge or a restore starts from these parameters, rebuilt from every stored field, and changes
only what it means to change. Optional fields AWS did not return are left out, as AWS expects, rather
than sent empty; settings newer than the catalog's columns (``extra_settings``) go back as AWS gave them.
Works on anything shaped like a catalog alarm (the ``Alarm`` model, an ``AlarmRecord``).

Tags apply only when the call creates the alarm (AWS ignores them on an update, where TagResource is the
way); ``aws:`` tags are AWS's own and cannot be set, so they are never sent.
"""

from __future__ import annotations

import copy

RESERVED_TAG_PREFIX = "aws:"


def _actions_and_tags(alarm) -> dict:
    """What metric and composite alarms share: name, description, actions and settable tags."""
    params = {"AlarmName": alarm.name, "ActionsEnabled": bool(alarm.actions_enabled)}
    optional = {
        "AlarmDescription": alarm.description,
        "AlarmActions": list(alarm.alarm_actions or []),
        "OKActions": list(alarm.ok_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        "Tags": [
            {"Key": key, "Value": value}
            for key, value in sorted((alarm.tags or {}).items())
            if not key.startswith(RESERVED_TAG_PREFIX)
        ],
    }
    params.update({name: value for name, value in optional.items() if value})
    return params


def _metric_query(query: dict) -> dict:
    """A stored metric-math query as PutMetricAlarm takes it: empty dimension lists (AWS returns them for
    metrics that have none) and null values are the same as absent."""
    query = {key: value for key, value in copy.deepcopy(query).items() if value is not None}
    metric = query.get("MetricStat", {}).get("Metric")
    if metric is not None and not metric.get("Dimensions"):
        metric.pop("Dimensions", None)
    return query


def put_metric_alarm_params(alarm) -> dict:
    """PutMetricAlarm parameters that recreate ``alarm`` (single metric, metric math, anomaly band or PromQL)."""
    params = _actions_and_tags(alarm)
    extra = dict(alarm.extra_settings or {})
    if alarm.metrics:
        params["Metrics"] = [_metric_query(query) for query in alarm.metrics]
    elif "EvaluationCriteria" not in extra:  # a PromQL alarm has a query instead of a metric
        params.update(MetricName=alarm.metric_name, Namespace=alarm.namespace, Period=alarm.period)
        # Exactly one of the two: a percentile lives in ExtendedStatistic.
        if alarm.extended_statistic:
            params["ExtendedStatistic"] = alarm.extended_statistic
        else:
            params["Statistic"] = alarm.statistic
        if alarm.dimensions:
            params["Dimensions"] = [{"Name": name, "Value": value} for name, value in sorted(alarm.dimensions.items())]
        if alarm.unit:
            params["Unit"] = alarm.unit
    optional = {
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        # Anomaly-band alarms compare with a band (ThresholdMetricId), not a number.
        "Threshold": alarm.threshold,
        "ComparisonOperator": alarm.comparison_operator or None,
        "ThresholdMetricId": alarm.threshold_metric_id or None,
        "TreatMissingData": alarm.treat_missing_data or None,
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or None,
    }
    params.update({name: value for name, value in optional.items() if value is not None})
    params.update(extra)
    return params


def put_composite_alarm_params(alarm) -> dict:
    """PutCompositeAlarm parameters that recreate the composite ``alarm``, with its actions suppressor."""
    params = _actions_and_tags(alarm)
    params["AlarmRule"] = alarm.alarm_rule
    if alarm.actions_suppressor:
        params["ActionsSuppressor"] = alarm.actions_suppressor
        for name, value in (
            ("ActionsSuppressorWaitPeriod", alarm.actions_suppressor_wait_period),
            ("ActionsSuppressorExtensionPeriod", alarm.actions_suppressor_extension_period),
        ):
            if value is not None:
                params[name] = value
    params.update(alarm.extra_settings or {})
    return params


def put_alarm_call(alarm) -> tuple[str, dict]:
    """The AWS operation and parameters that write ``alarm`` back, whichever its kind."""
    if alarm.alarm_type == "composite":
        return "PutCompositeAlarm", put_composite_alarm_params(alarm)
    return "PutMetricAlarm", put_metric_alarm_params(alarm)
