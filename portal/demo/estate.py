"""Builds a realistic serverless shop in the local AWS: two member accounts x two regions, fourteen
services of four teams, each with Lambda functions, DynamoDB tables, an API, queues, streams, buckets and
the alarms real teams create for them (and the mess real estates have: untagged alarms, alarms without
actions, muted alarms, stale alarms in INSUFFICIENT_DATA, a service tagged under two spellings).

Only AWS holds the estate: the portal discovers its services and teams from the tags when it syncs.

Deterministic for a given seed. Every AWS call goes through the portal's own adapter (`alarms.aws`).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from alarms import aws
from portal.localaws import role_arn

EXTERNAL_ID = "okami-demo"
REGIONS = ("eu-west-1", "us-east-1")
ACCOUNTS = {"111111111111": "shop-prod", "222222222222": "shop-data"}

# The teams' slugs as the tags spell them, with the name and alert channel a person gives them in the portal.
TEAMS = (
    ("payments", "Payments", "#payments-alerts"),
    ("storefront", "Storefront", "#storefront-alerts"),
    ("fulfilment", "Fulfilment", "#fulfilment-alerts"),
    ("platform", "Platform", "#platform-alerts"),
)


@dataclass(frozen=True)
class ServiceSpec:
    slug: str
    name: str
    team: str
    account: str
    functions: tuple[str, ...]
    tables: tuple[str, ...]
    queues: tuple[str, ...] = ()
    streams: tuple[str, ...] = ()
    has_api: bool = True
    # How the team tags its alarms: "stack" (CloudFormation, tags propagated), "tags" (tagged by hand),
    # "legacy" (mostly untagged, created by hand in the console years ago).
    tagging: str = "stack"
    description: str = ""
    # Another spelling (the service's old name) that some of its hand-tagged alarms still carry.
    also_spelt: str = ""


SERVICES = (
    ServiceSpec(
        "checkout",
        "Checkout",
        "payments",
        "111111111111",
        (
            "createOrder",
            "confirmOrder",
            "applyVoucher",
            "calculateTotals",
            "reserveStock",
            "sendReceipt",
            "validateAddress",
            "fraudCheck",
            "timeoutSweeper",
            "webhookRelay",
            "quoteShipping",
            "splitOrder",
        ),
        ("orders-draft", "vouchers", "checkout-sessions"),
        ("checkout-events",),
        ("checkout-stream",),
        description="Turns a cart into a paid order.",
    ),
    ServiceSpec(
        "payments-api",
        "Payments API",
        "payments",
        "111111111111",
        (
            "authorize",
            "capture",
            "refund",
            "void",
            "listPayments",
            "getPayment",
            "providerWebhook",
            "settlementImport",
            "retryCapture",
            "reconcile",
            "tokenize",
            "chargeback",
        ),
        ("payments", "payment-attempts", "idempotency-keys"),
        ("payment-retries",),
        description="Card and wallet payments through the payment providers.",
    ),
    ServiceSpec(
        "refunds",
        "Refunds",
        "payments",
        "111111111111",
        (
            "requestRefund",
            "approveRefund",
            "issueRefund",
            "notifyCustomer",
            "refundReport",
            "expireRequests",
            "syncProvider",
            "auditTrail",
            "listRefunds",
            "getRefund",
            "escalate",
            "batchRefund",
        ),
        ("refunds", "refund-approvals", "refund-ledger"),
        ("refund-jobs",),
        tagging="tags",
    ),
    ServiceSpec(
        "cart",
        "Cart",
        "storefront",
        "111111111111",
        (
            "addItem",
            "removeItem",
            "getCart",
            "mergeCarts",
            "priceCart",
            "saveForLater",
            "shareCart",
            "expireCarts",
            "applyPromo",
            "cartEvents",
            "restoreCart",
            "cartSummary",
        ),
        ("carts", "saved-items", "promo-usage"),
        ("cart-expiry",),
        tagging="tags",
        description="Shopping carts of signed-in and anonymous customers.",
    ),
    ServiceSpec(
        "catalog",
        "Catalog",
        "storefront",
        "111111111111",
        (
            "getProduct",
            "listProducts",
            "importFeed",
            "resizeImages",
            "publishProduct",
            "priceUpdate",
            "categoryTree",
            "productEvents",
            "stockBadge",
            "seoSitemap",
            "bulkEdit",
            "archiveProduct",
        ),
        ("products", "categories", "price-history"),
        ("catalog-import",),
        ("catalog-changes",),
        description="Products, categories and prices.",
    ),
    ServiceSpec(
        "search",
        "Search",
        "storefront",
        "111111111111",
        (
            "query",
            "suggest",
            "indexProduct",
            "reindexAll",
            "synonyms",
            "facetCounts",
            "trending",
            "spellcheck",
            "queryLog",
            "boostRules",
            "indexHealth",
            "didYouMean",
        ),
        ("search-synonyms", "query-log", "boost-rules"),
        ("index-updates",),
        tagging="legacy",
        description="Product search and suggestions.",
    ),
    ServiceSpec(
        "reviews",
        "Reviews",
        "storefront",
        "111111111111",
        (
            "postReview",
            "listReviews",
            "moderate",
            "aggregateRatings",
            "reportAbuse",
            "notifyMerchant",
            "translate",
            "helpfulVote",
            "importLegacy",
            "purgeSpam",
            "reviewDigest",
            "verifiedBuyer",
        ),
        ("reviews", "ratings", "moderation-queue"),
        ("moderation",),
        tagging="legacy",
    ),
    ServiceSpec(
        "orders",
        "Orders",
        "fulfilment",
        "222222222222",
        (
            "getOrder",
            "listOrders",
            "cancelOrder",
            "orderEvents",
            "invoicePdf",
            "orderSearch",
            "statusWebhook",
            "archiveOrders",
            "orderExport",
            "amendOrder",
            "splitShipment",
            "orderTimeline",
        ),
        ("orders", "order-lines", "order-status"),
        ("order-events",),
        ("orders-stream",),
        description="Order history and status for customers and support.",
    ),
    ServiceSpec(
        "shipping",
        "Shipping",
        "fulfilment",
        "222222222222",
        (
            "createLabel",
            "trackParcel",
            "carrierWebhook",
            "rateQuote",
            "pickupRequest",
            "manifest",
            "returnLabel",
            "deliveryEta",
            "addressCheck",
            "carrierSync",
            "customsDocs",
            "lostParcel",
        ),
        ("shipments", "carrier-rates", "tracking-events"),
        ("carrier-callbacks",),
        tagging="tags",
    ),
    ServiceSpec(
        "inventory",
        "Inventory",
        "fulfilment",
        "222222222222",
        (
            "reserve",
            "release",
            "adjustStock",
            "stockSync",
            "lowStockAlert",
            "cycleCount",
            "transfer",
            "inbound",
            "stockLevels",
            "warehouseEvents",
            "forecast",
            "deadStock",
        ),
        ("stock", "reservations", "warehouses"),
        ("stock-sync",),
        ("stock-changes",),
    ),
    ServiceSpec(
        "returns",
        "Returns",
        "fulfilment",
        "222222222222",
        (
            "openReturn",
            "approveReturn",
            "receiveReturn",
            "inspect",
            "restock",
            "returnStatus",
            "returnLabelEmail",
            "returnReasons",
            "returnExport",
            "autoApprove",
            "returnFraud",
            "closeReturn",
        ),
        ("returns", "return-items", "inspections"),
        ("returns-inbound",),
        tagging="legacy",
    ),
    ServiceSpec(
        "identity",
        "Identity",
        "platform",
        "111111111111",
        (
            "signIn",
            "signUp",
            "refreshToken",
            "resetPassword",
            "verifyEmail",
            "mfaChallenge",
            "sessionSweep",
            "userProfile",
            "deleteAccount",
            "socialLogin",
            "rateLimiter",
            "auditLogin",
        ),
        ("users", "sessions", "mfa-devices"),
        ("account-events",),
        description="Sign-in, sessions and customer accounts.",
    ),
    ServiceSpec(
        "notifications",
        "Notifications",
        "platform",
        "222222222222",
        (
            "sendEmail",
            "sendSms",
            "sendPush",
            "templateRender",
            "bounceHandler",
            "unsubscribe",
            "digestBuilder",
            "preferenceCenter",
            "deliveryReport",
            "throttleGuard",
            "retrySend",
            "webhookOut",
        ),
        ("notification-log", "preferences", "templates"),
        ("outbound-email", "outbound-sms"),
        ("delivery-events",),
        tagging="tags",
        also_spelt="notification-service",
    ),
    ServiceSpec(
        "recommendations",
        "Recommendations",
        "platform",
        "222222222222",
        (
            "recommend",
            "similarItems",
            "trainModel",
            "featureExport",
            "clickstream",
            "abAssign",
            "popularNow",
            "personalize",
            "modelEval",
            "warmCache",
            "embedItems",
            "boughtTogether",
        ),
        ("features", "ab-assignments", "model-registry"),
        ("training-jobs",),
        ("clickstream",),
        tagging="legacy",
    ),
)


@dataclass(frozen=True)
class AlarmKind:
    """An alarm teams put on every resource of one kind. ``{resource}`` in the metric and dimension values is
    the resource's name; ``{short}`` and ``{service}`` in the description are its short and service names."""

    suffix: str
    namespace: str
    metric: str
    statistic: str
    period: int
    evaluations: int
    thresholds: tuple[float, ...]  # different teams, different habits
    dimensions: tuple[tuple[str, str], ...] = ()
    description: str = ""
    share: float = 1.0  # the fraction of resources that have it


LAMBDA_ALARMS = (
    AlarmKind(
        "Errors",
        "AWS/Lambda",
        "Errors",
        "Sum",
        60,
        1,
        (1, 1, 5, 10),
        (("FunctionName", "{resource}"),),
        "Errors in {short}",
    ),
    AlarmKind("Throttles", "AWS/Lambda", "Throttles", "Sum", 300, 1, (1, 5), (("FunctionName", "{resource}"),)),
    AlarmKind(
        "Duration-p99",
        "AWS/Lambda",
        "Duration",
        "p99",
        300,
        3,
        (3000, 5000, 10000),
        (("FunctionName", "{resource}"),),
        "Slow invocations",
    ),
    # Metric filters on the function's log group count ERROR lines into a namespace of the team's own.
    AlarmKind(
        "ErrorLogs",
        "LogMetrics",
        "{resource}-ErrorCount",
        "Sum",
        60,
        1,
        (1, 1, 3),
        description="ERROR lines in /aws/lambda/{short}",
    ),
)
TABLE_ALARMS = (
    AlarmKind(
        "ReadThrottleEvents",
        "AWS/DynamoDB",
        "ReadThrottleEvents",
        "Sum",
        60,
        2,
        (1, 10),
        (("TableName", "{resource}"),),
    ),
    AlarmKind(
        "WriteThrottleEvents",
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        "Sum",
        60,
        2,
        (1, 10),
        (("TableName", "{resource}"),),
    ),
    AlarmKind(
        "SystemErrors",
        "AWS/DynamoDB",
        "SystemErrors",
        "Sum",
        60,
        1,
        (1,),
        (("TableName", "{resource}"),),
        "DynamoDB internal errors",
    ),
    AlarmKind(
        "PutItem-ThrottledRequests",
        "AWS/DynamoDB",
        "ThrottledRequests",
        "Sum",
        60,
        3,
        (1, 5),
        (("TableName", "{resource}"), ("Operation", "PutItem")),
        share=0.5,
    ),
)
QUEUE_ALARMS = (
    AlarmKind(
        "OldestMessageAge",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        300,
        2,
        (300, 900, 3600),
        (("QueueName", "{resource}"),),
        "Messages waiting too long",
    ),
)
STREAM_ALARMS = (
    AlarmKind(
        "IteratorAge",
        "AWS/Kinesis",
        "GetRecords.IteratorAgeMilliseconds",
        "Maximum",
        60,
        5,
        (60000, 300000),
        (("StreamName", "{resource}"),),
        "Consumers falling behind",
    ),
)
API_ALARMS = (
    AlarmKind(
        "5XXError",
        "AWS/ApiGateway",
        "5XXError",
        "Sum",
        60,
        3,
        (1, 5, 10),
        (("ApiName", "{resource}"), ("Stage", "prod")),
        "Customers get server errors from {service}",
    ),
    AlarmKind(
        "Latency-p95",
        "AWS/ApiGateway",
        "Latency",
        "p95",
        300,
        3,
        (1000, 1500, 3000),
        (("ApiName", "{resource}"), ("Stage", "prod")),
        "{service} is slow for customers",
        share=0.7,
    ),
)

# What people really type into the description field, now and then.
MESSY_DESCRIPTIONS = (
    "TODO",
    "copied from checkout alarm, fix threshold",
    "   {text}   ",
    "<b>{text}</b> see https://wiki.example.com/ops?page=alarms&team=x",
    "{text}!!! page whoever is on call",
    "{text}. " * 12,
)


def _description(text: str, rng: random.Random) -> str | None:
    """The alarm's description as teams leave it: often none, sometimes messy, else the sensible text."""
    roll = rng.random()
    if not text or roll < 0.15:
        return None
    if roll < 0.22:
        return rng.choice(MESSY_DESCRIPTIONS).format(text=text)
    return text


@dataclass
class EstateSummary:
    functions: int = 0
    tables: int = 0
    apis: int = 0
    queues: int = 0
    streams: int = 0
    buckets: int = 0
    topics: int = 0
    alarms: int = 0
    by_key: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, other: EstateSummary) -> None:
        for name in ("functions", "tables", "apis", "queues", "streams", "buckets", "topics", "alarms"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.by_key.update(other.by_key)


def member_access(account_id: str) -> aws.AccountAccess:
    return aws.AccountAccess(account_id, role_arn(account_id), EXTERNAL_ID)


def _api_id_tag(name: str) -> dict[str, str]:
    """moto's documented tag that fixes a REST API's id: random ids would make every `make run` present the
    same APIs as new resources (and the previous ones as deleted)."""
    return {"_custom_id_": hashlib.sha256(name.encode()).hexdigest()[:10]}


def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


class _Deployment:
    """One (account, region): creates the resources of the services deployed there, then their alarms."""

    def __init__(self, account_id, region, specs: list[ServiceSpec], rng: random.Random, scale: float, role: str):
        self.account_id, self.region, self.specs, self.rng, self.scale = account_id, region, specs, rng, scale
        self.execution_role = role
        access = member_access(account_id)
        self.clients = {
            name: aws.client(name, access=access, region=region)
            for name in ("lambda", "dynamodb", "apigateway", "sqs", "kinesis", "s3", "sns", "cloudwatch")
        }
        self.summary = EstateSummary()
        self.alarm_states: list[tuple[str, str, str]] = []

    def _take(self, items: tuple[str, ...]) -> tuple[str, ...]:
        return items[: max(1, round(len(items) * self.scale))]

    def build(self) -> EstateSummary:
        topics = self._team_topics()
        code = _lambda_zip()
        for spec in self.specs:
            prefix = f"{spec.slug}-{'prod' if self.region == 'eu-west-1' else 'prod-us'}"
            resource_tags = {"service": spec.slug, "team": spec.team, "env": "prod"}
            functions = [f"{prefix}-{name}" for name in self._take(spec.functions)]
            for function in functions:
                self.clients["lambda"].create_function(
                    FunctionName=function,
                    Runtime="python3.12",
                    Role=self.execution_role,
                    Handler="handler.handler",
                    Code={"ZipFile": code},
                    Tags=resource_tags,
                )
            tables = [f"{prefix}-{name}" for name in self._take(spec.tables)]
            for table in tables:
                self.clients["dynamodb"].create_table(
                    TableName=table,
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                    Tags=[{"Key": k, "Value": v} for k, v in resource_tags.items()],
                )
            queues = [f"{prefix}-{name}" for name in spec.queues]
            for queue in queues:
                self.clients["sqs"].create_queue(QueueName=queue, tags=resource_tags)
            streams = [f"{prefix}-{name}" for name in spec.streams]
            for stream in streams:
                self.clients["kinesis"].create_stream(StreamName=stream, ShardCount=1)
                self.clients["kinesis"].add_tags_to_stream(StreamName=stream, Tags=resource_tags)
            # The public API customers call, and the internal one support tools and other services call.
            apis = [f"{prefix}-api", f"{prefix}-internal-api"] if spec.has_api else []
            for api in apis:
                self.clients["apigateway"].create_rest_api(name=api, tags={**resource_tags, **_api_id_tag(api)})
            bucket = f"{prefix}-assets-{self.account_id}"
            self.clients["s3"].create_bucket(
                Bucket=bucket,
                **(
                    {}
                    if self.region == "us-east-1"
                    else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
                ),
            )
            self.clients["s3"].put_bucket_tagging(
                Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in resource_tags.items()]}
            )
            self.summary.functions += len(functions)
            self.summary.tables += len(tables)
            self.summary.queues += len(queues)
            self.summary.streams += len(streams)
            self.summary.apis += len(apis)
            self.summary.buckets += 1
            self._alarms(spec, prefix, functions, tables, queues, streams, apis, topics[spec.team])
        self._strays(topics["platform"])
        self._set_states()
        self.summary.by_key[(self.account_id, self.region)] = self.summary.alarms
        return self.summary

    def _team_topics(self) -> dict[str, str]:
        """One alert topic per team; platform's has no subscriber left (its alarms notify nobody)."""
        topics = {}
        for slug, _, _ in TEAMS:
            topics[slug] = self.clients["sns"].create_topic(Name=f"{slug}-alerts")["TopicArn"]
            if slug != "platform":
                self.clients["sns"].subscribe(
                    TopicArn=topics[slug], Protocol="https", Endpoint=f"https://chat.example.com/hooks/{slug}"
                )
            self.summary.topics += 1
        return topics

    def _strays(self, topic: str) -> None:
        """Alarms nobody remembers: made by hand in the console, on resources long gone or on nothing."""
        cloudwatch = self.clients["cloudwatch"]
        strays = [
            ("test-alarm-do-not-delete", "AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": "hello-world"}]),
            (
                "legacy-import-v1-errors",
                "AWS/Lambda",
                "Errors",
                [{"Name": "FunctionName", "Value": "legacy-import-v1"}],
            ),
            (
                "old-orders-queue-depth",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                [{"Name": "QueueName", "Value": "orders-v1"}],
            ),
            ("jsmith-debug-5xx", "Custom/Debug", "Errors5xx", []),
            ("Untitled alarm 3", "Custom/Debug", "Latency", []),
            ("CPU high (copy)", "Custom/Batch", "CPUUtilization", [{"Name": "JobQueue", "Value": "nightly"}]),
        ]
        count = max(1, round(len(strays) * self.scale * 4))
        for index in range(count):
            name, namespace, metric, dimensions = strays[index % len(strays)]
            cloudwatch.put_metric_alarm(
                AlarmName=f"{name}-{index}" if index >= len(strays) else name,
                Namespace=namespace,
                MetricName=metric,
                Dimensions=dimensions,
                Statistic="Sum",
                Period=300,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold",
                AlarmActions=[topic] if index % 2 else [],
            )
            self.summary.alarms += 1

    # --- alarms ---------------------------------------------------------------------------------------

    def _alarms(self, spec, prefix, functions, tables, queues, streams, apis, topic) -> None:
        for kinds, resources in (
            (LAMBDA_ALARMS, functions),
            (TABLE_ALARMS, tables),
            (QUEUE_ALARMS, queues),
            (STREAM_ALARMS, streams),
            (API_ALARMS, apis),
        ):
            for resource in resources:
                for kind in kinds:
                    if kind.share >= 1 or self.rng.random() < kind.share:
                        self._put(spec, kind, resource, resource.removeprefix(f"{prefix}-"), topic)

    def _put(self, spec: ServiceSpec, kind: AlarmKind, resource: str, short: str, topic: str) -> None:
        rng = self.rng
        name = f"{resource}-{kind.suffix}"
        threshold = rng.choice(kind.thresholds)
        actions_roll = rng.random()
        params = {
            "AlarmName": name,
            "Namespace": kind.namespace,
            "MetricName": kind.metric.format(resource=resource),
            "Dimensions": [{"Name": key, "Value": value.format(resource=resource)} for key, value in kind.dimensions],
            "Period": kind.period,
            "EvaluationPeriods": kind.evaluations,
            "DatapointsToAlarm": kind.evaluations if rng.random() < 0.7 else max(1, kind.evaluations - 1),
            "Threshold": float(threshold),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": rng.choice(("notBreaching", "notBreaching", "missing", "ignore")),
            "AlarmActions": [] if actions_roll < 0.08 else [topic],
            "OKActions": [topic] if rng.random() < 0.3 else [],
            "ActionsEnabled": actions_roll > 0.13,
            "Tags": [{"Key": k, "Value": v} for k, v in self._alarm_tags(spec, rng).items()],
        }
        description = _description(kind.description.format(short=short, service=spec.name), rng)
        if description is not None:
            params["AlarmDescription"] = description
        statistic_key = "ExtendedStatistic" if kind.statistic.startswith("p") else "Statistic"
        params[statistic_key] = kind.statistic
        self.clients["cloudwatch"].put_metric_alarm(**params)
        self.summary.alarms += 1
        state_roll = rng.random()
        if state_roll < 0.03:
            self.alarm_states.append((name, "ALARM", f"Threshold Crossed: 1 datapoint was >= {threshold}"))
        elif state_roll < 0.10:
            self.alarm_states.append((name, "INSUFFICIENT_DATA", "Insufficient Data: no datapoints were received"))

    def _alarm_tags(self, spec: ServiceSpec, rng: random.Random) -> dict[str, str]:
        roll = rng.random()
        # A stack-managed service still has alarms added by hand next to the template (no stack tag).
        if spec.tagging == "stack" and roll < 0.55:
            return {
                "service": spec.slug,
                "team": spec.team,
                "aws:cloudformation:stack-name": f"{spec.slug}-prod",
                "aws:cloudformation:logical-id": "Alarm",
            }
        if spec.tagging == "stack" and roll < 0.92:
            return {"service": spec.slug, "team": spec.team}
        if spec.tagging == "tags" and roll < 0.6:
            return {"service": spec.slug, "team": spec.team}
        if spec.tagging == "tags" and roll < 0.85:
            return {"service": spec.also_spelt if spec.also_spelt and roll >= 0.75 else spec.slug}
        if spec.tagging == "legacy" and roll < 0.35:
            return {"owner": spec.team}
        return {}

    def _set_states(self) -> None:
        for name, state, reason in self.alarm_states:
            self.clients["cloudwatch"].set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)


def _lambda_execution_role(account_id: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam = aws.client("iam", access=member_access(account_id), region=REGIONS[0])
    role = iam.create_role(RoleName="shop-lambda-execution", AssumeRolePolicyDocument=json.dumps(trust))
    return role["Role"]["Arn"]


def build_demo_estate(*, seed: int = 7, scale: float = 1.0) -> EstateSummary:
    """Create the whole estate in the (empty) local AWS the process points at; ``scale`` < 1 makes a
    smaller one (fewer functions and tables per service) for tests."""
    # IAM is global to an account: its role is made once, before the regions are built in parallel.
    roles = {account_id: _lambda_execution_role(account_id) for account_id in ACCOUNTS}
    deployments = [
        _Deployment(
            account_id,
            region,
            [spec for spec in SERVICES if spec.account == account_id],
            random.Random(f"{seed}-{account_id}-{region}"),
            scale,
            roles[account_id],
        )
        for account_id in ACCOUNTS
        for region in REGIONS
    ]
    summary = EstateSummary()
    with ThreadPoolExecutor(max_workers=len(deployments)) as pool:
        for part in pool.map(_Deployment.build, deployments):
            summary.add(part)
    return summary


def demo_accounts() -> list[dict]:
    """What the portal registers to read the estate: each member account through its read-only role."""
    return [
        {
            "account_id": account_id,
            "name": name,
            "regions": list(REGIONS),
            "role_arn": role_arn(account_id),
            "external_id": EXTERNAL_ID,
        }
        for account_id, name in ACCOUNTS.items()
    ]
