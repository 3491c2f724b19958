"""An embedded local AWS (moto server, in-process, over real HTTP) for the demo, tests and benchmarks.

Production never imports this module; moto is a development dependency.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass

# Account ids of the local estate: moto's default account acts as the portal's own (management)
# account, the workloads live in two member accounts reached through AssumeRole.
MANAGEMENT_ACCOUNT = "123456789012"
READ_ROLE_NAME = "OkamiReadOnly"

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


def role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{READ_ROLE_NAME}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalAws:
    """A running moto server; ``environ`` is what a process needs to talk to it with boto3."""

    server: object
    endpoint_url: str

    @property
    def environ(self) -> dict[str, str]:
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint_url}

    def reset(self) -> None:
        """Forget every resource in every account (moto's reset endpoint)."""
        import urllib.request

        reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(reset, timeout=30):  # noqa: S310 (loopback moto server)
            pass

    def stop(self) -> None:
        self.server.stop()


# DescribeAlarms' MaxRecords: AWS's default and ceiling.
ALARMS_PER_PAGE, MAX_ALARMS_PER_PAGE = 50, 100


def page_alarms_as_aws_does() -> None:
    """moto answers DescribeAlarms with every alarm at once, whatever MaxRecords says; AWS answers at most
    100 a page with a NextToken. Patched into this process's moto, so that the sync's paging (and its
    writes between pages) run against the local AWS as they do against AWS. Idempotent."""
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    describe = CloudWatchResponse.describe_alarms
    if getattr(describe, "pages_as_aws", False):
        return

    def paged(self) -> ActionResult:
        answer = describe(self).result
        alarms = [*answer["MetricAlarms"], *answer["CompositeAlarms"]]
        size = min(int(self._get_param("MaxRecords") or ALARMS_PER_PAGE), MAX_ALARMS_PER_PAGE)
        start = int(self._get_param("NextToken") or 0)
        page = alarms[start : start + size]
        result = {
            "MetricAlarms": [a for a in page if a.rule is None],
            "CompositeAlarms": [a for a in page if a.rule is not None],
        }
        if start + size < len(alarms):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    paged.pages_as_aws = True
    CloudWatchResponse.describe_alarms = paged


def start_local_aws(port: int | None = None) -> LocalAws:
    """Start moto's threaded server on 127.0.0.1 (a free port unless given) and return it."""
    from moto.server import ThreadedMotoServer

    page_alarms_as_aws_does()
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return LocalAws(server=server, endpoint_url=f"http://127.0.0.1:{port}")


@contextmanager
def local_aws_environ(local: LocalAws):
    """Point this process's boto3 at the local AWS for the duration of the block."""
    saved = {key: os.environ.get(key) for key in local.environ}
    os.environ.update(local.environ)
    try:
        yield local
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(argv: list[str] | None = None) -> None:
    """``python -m portal.localaws -p PORT``: the local AWS in a process of its own (moto_server's options)."""
    from moto.server import main as moto_server

    page_alarms_as_aws_does()
    moto_server(argv)


if __name__ == "__main__":
    main()
