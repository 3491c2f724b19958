"""Suggested purposes come from the metric library: every entry answers for its metric, with texts filled
from the alarm's own definition."""

import re

import pytest

from alarms.choices import SignalKind, Tier
from alarms.services.suggestions import (
    DISTANCES,
    LIBRARY_PATH,
    LIBRARY_VERSION,
    MAX_TEXT,
    LibraryError,
    condition_words,
    entry_distance,
    library_entries,
    load_library,
    per_words,
    render,
    suggest,
    window_words,
)

KNOWN_PLACEHOLDERS = {"resource", "metric", "namespace"} | {
    name
    for base in ("condition", "quantity", "threshold", "statistic", "per", "period", "window")
    for name in (base, base.capitalize())
}


def alarm(**overrides) -> dict:
    """A metric alarm's definition as suggest() takes it: Lambda Errors, sum over a minute, more than 1."""
    definition = {
        "alarm_type": "metric",
        "namespace": "AWS/Lambda",
        "metric_name": "Errors",
        "dimensions": {"FunctionName": "checkout-fn-03"},
        "statistic": "Sum",
        "extended_statistic": "",
        "period": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": None,
        "threshold": 1.0,
        "comparison_operator": "GreaterThanThreshold",
        "threshold_metric_id": "",
        "metrics": [],
        "name": "checkout-fn-03-Errors",
    }
    return definition | overrides


def metric_query(query_id, namespace, metric_name, dimensions, *, stat="Sum", period=60, return_data=False):
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": return_data,
    }


def example_alarm(entry, metric_name: str | None = None) -> tuple[dict, str]:
    """An alarm on the entry's metric, and the resource name its texts should show."""
    namespace = "Checkout" if entry.namespace == "*" else entry.namespace
    metric_name = metric_name or (entry.metrics[0] if entry.metrics else entry.examples[0])
    resource = "orders-dlq" if entry.resource_pattern else "orders-main"
    if entry.resource_pattern:
        assert entry.resource_pattern.search(resource), "the example resource must fit the entry's pattern"
    dimensions = {}
    if entry.resource_dimensions:
        dimension = entry.resource_dimensions[0]
        value = (
            f"arn:aws:states:eu-west-1:111111111111:stateMachine:{resource}" if dimension.endswith("Arn") else resource
        )
        dimensions = {dimension: value}
    else:
        resource = "orders-alarm"
    return alarm(
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dimensions,
        statistic="Average",
        period=300,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=10.0,
        name="orders-alarm",
    ), resource


# --- Every entry -------------------------------------------------------------------------------------------


EVERY_METRIC = [(entry, name) for entry in library_entries() for name in (entry.metrics or entry.examples)]


@pytest.mark.parametrize(("entry", "metric_name"), EVERY_METRIC, ids=lambda v: getattr(v, "id", v))
def test_each_entry_suggests_for_each_of_its_metrics_with_the_alarms_own_figures(entry, metric_name):
    definition, resource = example_alarm(entry, metric_name)

    suggestion = suggest(**definition)

    assert suggestion is not None
    assert suggestion.entry == entry.id
    assert suggestion.detects and suggestion.customer_impact and suggestion.action
    assert (suggestion.signal_kind, suggestion.tier, suggestion.distance) == (
        entry.signal_kind,
        entry.tier,
        entry.distance,
    )
    assert f"`{resource}`" in suggestion.detects
    if any(p in entry.detects for p in ("{quantity}", "{condition}", "{threshold}", "{Quantity}", "{Condition}")):
        assert "10" in suggestion.detects, suggestion.detects  # the alarm's threshold
    if any(p in entry.detects for p in ("{per}", "{window}")):
        assert "5 minutes" in suggestion.detects, suggestion.detects  # the alarm's period
    for text in (suggestion.detects, suggestion.customer_impact, suggestion.action):
        assert "{" not in text and "}" not in text, text


@pytest.mark.parametrize("entry", library_entries(), ids=lambda entry: entry.id)
def test_each_entry_uses_only_known_placeholders_and_values(entry):
    for template in (entry.detects, entry.customer_impact, entry.action):
        assert set(re.findall(r"\{([A-Za-z_]+)\}", template)) <= KNOWN_PLACEHOLDERS, template
    assert entry.signal_kind in SignalKind.values
    assert entry.tier in Tier.values
    assert entry.distance in DISTANCES
    assert entry_distance(entry.id) == entry.distance


def test_library_has_unique_ids_and_a_version_of_its_bytes():
    ids = [entry.id for entry in library_entries()]
    assert len(ids) == len(set(ids))
    assert re.fullmatch(r"[0-9a-f]{12}", LIBRARY_VERSION)
    assert load_library(LIBRARY_PATH).version == LIBRARY_VERSION
    assert entry_distance("no-such-entry") is None


def test_version_changes_with_the_file(tmp_path):
    copy = tmp_path / "library.toml"
    copy.write_bytes(LIBRARY_PATH.read_bytes() + b"\n# reviewed\n")
    assert load_library(copy).version != LIBRARY_VERSION


# --- Classification ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "metric_name", "dimensions", "entry"),
    [
        ("AWS/ApiGateway", "5XXError", {"ApiName": "orders-api"}, "apigateway-5xx"),
        ("AWS/ApiGateway", "5xx", {"ApiId": "a1b2c3d4e5"}, "apigateway-5xx"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": "app/orders/50dc6c"}, "alb-target-5xx"),
    ],
)
def test_edge_errors_are_symptoms(namespace, metric_name, dimensions, entry):
    suggestion = suggest(**alarm(namespace=namespace, metric_name=metric_name, dimensions=dimensions))
    assert (suggestion.entry, suggestion.signal_kind, suggestion.tier) == (entry, "symptom", "page")


@pytest.mark.parametrize(
    ("namespace", "metric_name", "dimensions"),
    [
        ("AWS/Lambda", "Errors", {"FunctionName": "checkout-fn-03"}),
        ("AWS/DynamoDB", "ThrottledRequests", {"TableName": "orders"}),
        ("AWS/DynamoDB", "ReadThrottleEvents", {"TableName": "orders"}),
    ],
)
def test_component_failures_are_causes(namespace, metric_name, dimensions):
    suggestion = suggest(**alarm(namespace=namespace, metric_name=metric_name, dimensions=dimensions))
    assert suggestion.signal_kind == "cause"


def test_lambda_errors_text():
    suggestion = suggest(**alarm())
    assert suggestion.entry == "lambda-errors"
    assert suggestion.detects == "More than 1 error a minute in `checkout-fn-03`."
    assert "`checkout-fn-03`" in suggestion.customer_impact


def test_messages_sent_count_only_on_a_dead_letter_queue():
    sent = {"namespace": "AWS/SQS", "metric_name": "NumberOfMessagesSent"}
    on_dlq = suggest(**alarm(**sent, dimensions={"QueueName": "orders-dlq"}))
    assert on_dlq.entry == "sqs-dlq-messages-sent"
    assert "`orders-dlq`" in on_dlq.detects
    assert suggest(**alarm(**sent, dimensions={"QueueName": "orders-queue"})) is None


def test_visible_messages_on_a_dead_letter_queue_have_their_own_entry():
    visible = {"namespace": "AWS/SQS", "metric_name": "ApproximateNumberOfMessagesVisible", "statistic": "Maximum"}
    assert suggest(**alarm(**visible, dimensions={"QueueName": "OrdersDeadLetterQueue"})).entry == (
        "sqs-dlq-messages-visible"
    )
    assert suggest(**alarm(**visible, dimensions={"QueueName": "orders-queue"})).entry == "sqs-messages-visible"


def test_state_machine_named_by_the_end_of_its_arn():
    arn = "arn:aws:states:eu-west-1:111111111111:stateMachine:order-flow"
    suggestion = suggest(
        **alarm(namespace="AWS/States", metric_name="ExecutionsFailed", dimensions={"StateMachineArn": arn})
    )
    assert suggestion.detects == "More than 1 failed execution a minute of state machine `order-flow`."


def test_average_of_api_errors_reads_as_a_share_of_requests():
    suggestion = suggest(
        **alarm(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions={"ApiName": "orders-api"},
            statistic="Average",
            period=300,
            threshold=0.05,
        )
    )
    assert suggestion.detects == "More than 5% 5XX responses in 5 minutes from API `orders-api`."


# --- Alarm shapes -----------------------------------------------------------------------------------------


def test_metric_math_alarm_that_returns_a_metric_uses_its_first_known_metric():
    metrics = [
        metric_query("m1", "Checkout", "Orders", {"Service": "checkout"}),
        metric_query("m2", "AWS/Lambda", "Errors", {"FunctionName": "checkout-fn-03"}, period=300, return_data=True),
        metric_query("m3", "AWS/Lambda", "Invocations", {"FunctionName": "checkout-fn-03"}, period=300),
    ]
    suggestion = suggest(
        **alarm(namespace="", metric_name="", dimensions={}, statistic="", period=None, metrics=metrics, threshold=5)
    )
    assert suggestion.entry == "lambda-errors"
    assert suggestion.detects == "More than 5 errors in 5 minutes in `checkout-fn-03`."


def test_metric_math_alarm_on_an_expression_gets_no_suggestion():
    """``100 * errors / invocations > 5`` is an error rate in percent: "more than 5 errors" would be wrong."""
    metrics = [
        metric_query("m2", "AWS/Lambda", "Errors", {"FunctionName": "checkout-fn-03"}, period=300),
        metric_query("m3", "AWS/Lambda", "Invocations", {"FunctionName": "checkout-fn-03"}, period=300),
        {"Id": "rate", "Expression": "100 * m2 / m3", "ReturnData": True},
    ]
    definition = alarm(namespace="", metric_name="", dimensions={}, statistic="", period=None, metrics=metrics)
    assert suggest(**definition) is None


def test_a_failover_metric_is_not_an_error_and_availability_wins_over_errors():
    custom = dict(namespace="Payments", dimensions={"Service": "payments"})
    assert suggest(**alarm(metric_name="PaymentFailoverAvailability", **custom)).entry == "custom-availability"
    assert suggest(**alarm(metric_name="PaymentFailovers", **custom)) is None
    assert suggest(**alarm(metric_name="PaymentFailures", **custom)).entry == "custom-errors"


def test_anomaly_band_alarm_reads_as_outside_its_band():
    metrics = [
        metric_query("m1", "AWS/ApiGateway", "Latency", {"ApiName": "orders-api"}, stat="p99", return_data=True),
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True},
    ]
    definition = alarm(
        namespace="",
        metric_name="",
        dimensions={},
        statistic="",
        period=None,
        threshold=None,
        comparison_operator="LessThanLowerOrGreaterThanUpperThreshold",
        threshold_metric_id="ad1",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        metrics=metrics,
    )
    suggestion = suggest(**definition)
    assert suggestion.entry == "apigateway-latency"
    assert suggestion.detects == (
        "The p99 latency of API `orders-api` is outside its expected band in each of 3 periods of a minute."
    )
    upper = suggest(**definition | {"comparison_operator": "GreaterThanUpperThreshold"})
    assert "is above its expected band" in upper.detects


def test_anomaly_band_on_a_count_reads_as_unusually_many():
    metrics = [
        metric_query("m1", "AWS/Lambda", "Errors", {"FunctionName": "checkout-fn-03"}),
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1)"},
    ]
    suggestion = suggest(
        **alarm(
            metric_name="",
            threshold=None,
            comparison_operator="GreaterThanUpperThreshold",
            threshold_metric_id="ad1",
            metrics=metrics,
        )
    )
    assert suggestion.detects == "Unusually many errors a minute in `checkout-fn-03`."


def test_composite_alarm_gets_nothing():
    assert suggest(**alarm(alarm_type="composite", namespace="", metric_name="", dimensions={})) is None


def test_unknown_aws_metric_gets_nothing():
    assert suggest(**alarm(metric_name="ProvisionedConcurrencyUtilization")) is None
    assert suggest(**alarm(namespace="AWS/EC2", metric_name="CPUUtilization", dimensions={})) is None


def test_custom_metric_matched_by_its_name():
    suggestion = suggest(
        **alarm(namespace="Checkout", metric_name="CheckoutErrors", dimensions={"Service": "checkout"})
    )
    assert suggestion.entry == "custom-errors"
    assert (suggestion.signal_kind, suggestion.tier) == ("cause", "ticket")
    assert "`CheckoutErrors`" in suggestion.detects and "`checkout`" in suggestion.detects


def test_aws_namespaces_are_not_matched_by_custom_name_patterns():
    assert suggest(**alarm(namespace="AWS/Lambda", metric_name="CheckoutErrors")) is None
    assert suggest(**alarm(namespace="CloudWatchSynthetics", metric_name="Duration", dimensions={})) is None


def test_resource_falls_back_to_the_alarm_name():
    suggestion = suggest(**alarm(dimensions={}, name="all-functions-errors"))
    assert suggestion.detects == "More than 1 error a minute in `all-functions-errors`."


def test_resource_names_are_inserted_as_they_are():
    hostile = "fn-{condition}-<b>`x`</b>" + "z" * 2000
    suggestion = suggest(**alarm(dimensions={"FunctionName": hostile}))
    assert suggestion.detects.startswith("More than 1 error a minute in `fn-{condition}-<b>`x`</b>zzz")
    assert len(suggestion.detects) == MAX_TEXT


# --- Library validation -----------------------------------------------------------------------------------

VALID_ENTRY = """
[[metric]]
id = "queue-age"
namespace = "AWS/SQS"
metrics = ["ApproximateAgeOfOldestMessage"]
resource_dimensions = ["QueueName"]
detects = "Old messages in `{resource}`."
customer_impact = "Work is late."
action = "Scale the consumer."
signal_kind = "cause"
tier = "ticket"
distance = "data"
"""


def write_library(tmp_path, text):
    path = tmp_path / "library.toml"
    path.write_text(text)
    return path


def test_a_small_library_loads_and_can_be_used(tmp_path):
    library = load_library(write_library(tmp_path, VALID_ENTRY))
    definition = alarm(namespace="AWS/SQS", metric_name="ApproximateAgeOfOldestMessage", dimensions={"QueueName": "q"})
    assert suggest(**definition, library=library).detects == "Old messages in `q`."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('tier = "ticket"', 'tier = "urgent"'), "'queue-age': tier 'urgent' is not one of page, ticket, info"),
        (('signal_kind = "cause"', 'signal_kind = "effect"'), "'queue-age': signal_kind"),
        (('distance = "data"', 'distance = "far"'), "'queue-age': distance"),
        (('action = "Scale the consumer."\n', ""), "'queue-age': missing keys: action"),
        (('detects = "Old messages in `{resource}`."', 'detects = " "'), "'queue-age': detects must be"),
        (('tier = "ticket"', 'tier = "ticket"\nseverity = 3'), "'queue-age': unknown keys: severity"),
        (('metrics = ["ApproximateAgeOfOldestMessage"]', "name_pattern = '(age'"), "'queue-age': name_pattern"),
        (('distance = "data"', "distance = \"data\"\nresource_pattern = '[dlq'"), "'queue-age': resource_pattern"),
        (('metrics = ["ApproximateAgeOfOldestMessage"]', "metrics = []"), "'queue-age': give either"),
    ],
)
def test_a_bad_entry_fails_to_load_naming_it(tmp_path, change, message):
    path = write_library(tmp_path, VALID_ENTRY.replace(*change))
    with pytest.raises(LibraryError, match=re.escape(message)):
        load_library(path)


def test_a_pattern_that_misses_its_examples_fails_to_load(tmp_path):
    text = VALID_ENTRY.replace(
        'metrics = ["ApproximateAgeOfOldestMessage"]', "name_pattern = 'latency'\nexamples = ['CheckoutErrors']"
    )
    with pytest.raises(LibraryError, match="'queue-age': name_pattern does not match its example 'CheckoutErrors'"):
        load_library(write_library(tmp_path, text))


def test_a_duplicate_id_fails_to_load(tmp_path):
    with pytest.raises(LibraryError, match="'queue-age': id used twice"):
        load_library(write_library(tmp_path, VALID_ENTRY + VALID_ENTRY))


# --- Placeholders -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(60, "a minute"), (300, "in 5 minutes"), (3600, "an hour"), (86400, "a day"), (90, "in 90 seconds")],
)
def test_periods_in_words(seconds, words):
    assert per_words(seconds) == words
    assert suggest(**alarm(period=seconds, threshold=5)).detects == f"More than 5 errors {words} in `checkout-fn-03`."


@pytest.mark.parametrize(
    ("comparison", "threshold", "words"),
    [
        ("GreaterThanThreshold", 1.0, "more than 1"),
        ("GreaterThanOrEqualToThreshold", 5.0, "at least 5"),
        ("LessThanThreshold", 99.5, "less than 99.5"),
        ("LessThanOrEqualToThreshold", 0.0, "at most 0"),
    ],
)
def test_comparisons_in_words(comparison, threshold, words):
    assert condition_words(comparison, threshold) == words
    canary = alarm(
        namespace="CloudWatchSynthetics",
        metric_name="SuccessPercent",
        dimensions={"CanaryName": "checkout-journey"},
        statistic="Average",
        comparison_operator=comparison,
        threshold=threshold,
    )
    assert suggest(**canary).detects == (
        f"The average success rate of canary `checkout-journey` is {words}% in one period of a minute."
    )


def test_anomaly_conditions_in_words():
    assert condition_words("LessThanLowerOrGreaterThanUpperThreshold", None, band=True) == "outside its expected band"
    assert condition_words("LessThanLowerThreshold", None, band=True) == "below its expected band"


@pytest.mark.parametrize(
    ("period", "evaluation_periods", "datapoints_to_alarm", "words"),
    [
        (60, 3, None, "in each of 3 periods of a minute"),
        (60, 3, 3, "in each of 3 periods of a minute"),
        (300, 3, 2, "in 2 of 3 periods of 5 minutes"),
        (3600, 1, None, "in one period of an hour"),
    ],
)
def test_evaluation_windows_in_words(period, evaluation_periods, datapoints_to_alarm, words):
    assert window_words(period, evaluation_periods, datapoints_to_alarm) == words


def test_statistics_in_words():
    latency = alarm(namespace="AWS/Lambda", metric_name="Duration", threshold=3000, evaluation_periods=2)
    assert suggest(**latency | {"statistic": "", "extended_statistic": "p99"}).detects.startswith("The p99 duration")
    assert suggest(**latency | {"statistic": "SampleCount"}).detects.startswith("The sample count duration")
    assert suggest(**latency | {"statistic": "Maximum"}).detects == (
        "The maximum duration of `checkout-fn-03` is more than 3000 ms in each of 2 periods of a minute."
    )


def test_unknown_placeholders_stay_as_written():
    assert render("{resource} {nope} {0} {", {"resource": "r"}) == "r {nope} {0} {"
