"""SNS signatures against AWS's own signed messages (copied with their sources, certificates pinned) and their
tampered twins."""

import json
from pathlib import Path

import pytest

from incidents.ingest.aws_time import aws_time
from incidents.ingest.sns_signature import (
    CertificateStore,
    SnsSignatureError,
    signing_cert_url_problem,
    sns_signature_verify,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sns"
PINNED = FIXTURES / "pinned"
GENUINE = sorted(
    path for path in FIXTURES.glob("*/*.json") if path.name != "sns_unsubscribe_notification.json"
)  # that one is invalid on purpose (another message's signature)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def verify(message: dict, store=None) -> None:
    store = store or CertificateStore(PINNED, download=False)
    sns_signature_verify(message, certificates=store, timestamp=aws_time(message["Timestamp"]))


@pytest.mark.parametrize("path", GENUINE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_messages_signed_by_aws_verify(path):
    verify(load(path))


def test_the_message_signed_with_another_ones_signature_fails():
    with pytest.raises(SnsSignatureError, match="does not match"):
        verify(load(FIXTURES / "django-sns-view" / "sns_unsubscribe_notification.json"))


@pytest.mark.parametrize("field", ["Message", "Subject", "Timestamp", "TopicArn", "MessageId"])
def test_a_tampered_field_fails(field):
    message = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-with-subject.json")
    message[field] = message[field][:-1] + ("X" if message[field][-1] != "X" else "Y")
    if field == "Timestamp":
        message[field] = "2026-03-06T19:53:22.424Z"

    with pytest.raises(SnsSignatureError):
        verify(message)


def test_a_subject_added_to_a_message_signed_without_one_fails():
    message = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-no-subject.json")
    message["Subject"] = "urgent"

    with pytest.raises(SnsSignatureError, match="does not match"):
        verify(message)


def test_another_messages_signature_fails():
    message = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-no-subject.json")
    message["Signature"] = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-with-subject.json")["Signature"]

    with pytest.raises(SnsSignatureError, match="does not match"):
        verify(message)


@pytest.mark.parametrize("version", ["3", "", None, 1])
def test_an_unknown_signature_version_fails(version):
    message = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-no-subject.json")
    message["SignatureVersion"] = version

    with pytest.raises(SnsSignatureError, match="SignatureVersion"):
        verify(message)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem", "https"),
        ("https://sns.evil.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem", "SNS host"),
        ("https://sns.us-east-1.amazonaws.com.evil.com/x.pem", "SNS host"),
        ("https://s3.amazonaws.com/bucket/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem", "SNS host"),
        ("https://user:pw@sns.us-east-1.amazonaws.com/x.pem", "SNS host"),
        ("https://sns.us-east-1.amazonaws.com:8443/x.pem", "SNS host"),
        ("https://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.txt", ".pem"),
    ],
)
def test_a_signing_cert_url_off_sns_is_refused_before_any_fetch(url, problem):
    message = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-no-subject.json")
    message["SigningCertURL"] = url
    fetched = []
    store = CertificateStore(None, download=True)
    store._fetched = fetched.append  # would fetch

    with pytest.raises(SnsSignatureError, match=problem):
        verify(message, store)
    assert fetched == []
    assert problem in signing_cert_url_problem(url)


def test_china_regions_are_sns_hosts():
    assert signing_cert_url_problem("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem") == ""


def test_a_certificate_is_checked_at_the_messages_own_time():
    message = load(FIXTURES / "aws-php-sns-message-validator" / "http-fixture-0.json")  # its cert expired in 2022
    store = CertificateStore(PINNED, download=False)

    with pytest.raises(SnsSignatureError, match="not valid at"):
        sns_signature_verify(message, certificates=store, timestamp=aws_time("2023-01-01T00:00:00Z"))


def test_without_a_pinned_certificate_and_downloads_off_nothing_is_believed(tmp_path):
    with pytest.raises(SnsSignatureError, match="not pinned"):
        verify(
            load(FIXTURES / "aws-sdk-java-v2" / "test-notification-no-subject.json"),
            CertificateStore(tmp_path, download=False),
        )


@pytest.mark.parametrize("host", ["sns.s3.amazonaws.com", "sns.s3-us-west-2.amazonaws.com", "sns.amazonaws.com"])
def test_s3_bucket_addresses_are_not_sns_hosts(host):
    assert signing_cert_url_problem(f"https://{host}/SimpleNotificationService-x.pem") == "not an SNS host"


def test_a_certificate_that_cannot_be_fetched_is_a_refusal_and_not_fetched_again_at_once(monkeypatch):
    import urllib.error

    calls = []

    def unreachable(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("no route")

    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    message = load(FIXTURES / "aws-sdk-java-v2" / "test-notification-no-subject.json")
    store = CertificateStore(None, download=True)

    for _ in range(2):
        with pytest.raises(SnsSignatureError, match="could not be fetched"):
            verify(message, store)
    assert len(calls) == 1
