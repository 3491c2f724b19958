"""SNS message signatures, checked before anything in a message is believed.

SignatureVersion 1 is RSA PKCS#1 v1.5 over SHA1, version 2 over SHA256, of the string to sign: ``key\\nvalue\\n``
for the fixed keys of the message's type, in that order (Subject only when present). The certificate comes
from ``SigningCertURL``, which must be https on ``sns.<region>.amazonaws.com`` (or ``.amazonaws.com.cn``) with
a path ending ``.pem``, checked before any fetch. A certificate found in ``SNS_CERT_DIR`` under the URL's file
name is used instead of downloading (pinned); downloaded ones are kept in memory. The certificate must have
been valid at the message's own Timestamp.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# sns.<region code>.amazonaws.com: a region code, so that no S3 bucket address (sns.s3.amazonaws.com) passes.
SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?$")
FAILED_FETCH_SECONDS = 60
MAX_CERT_BYTES = 16_384


class SnsSignatureError(ValueError):
    """Why a message is not believed; safe to answer to the sender."""


def sns_host_url_problem(url: str) -> str:
    """Why ``url`` is not an SNS endpoint the portal may fetch from ("" when it is): https, an SNS host, no
    credentials, the default port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a URL"
    if parts.scheme != "https":
        return "not https"
    if not SNS_HOST.match(parts.hostname or "") or parts.username or parts.password or port not in (None, 443):
        return "not an SNS host"
    return ""


def signing_cert_url_problem(url: str) -> str:
    problem = sns_host_url_problem(url)
    if problem:
        return problem
    if not urlsplit(url).path.endswith(".pem"):
        return "not a .pem file"
    return ""


def string_to_sign(message: dict) -> bytes:
    keys = SIGNED_KEYS.get(message.get("Type"))
    if keys is None:
        raise SnsSignatureError(f"unknown message Type {str(message.get('Type'))[:40]!r}")
    lines = []
    for key in keys:
        value = message.get(key)
        if value is None:
            if key == "Subject":
                continue
            raise SnsSignatureError(f"{key} is missing")
        if not isinstance(value, str):
            raise SnsSignatureError(f"{key} is not a string")
        lines.append(f"{key}\n{value}\n")
    return "".join(lines).encode()


def signing_cert_url(message: dict) -> str:
    """AWS spells it SigningCertURL over HTTP and SigningCertUrl in Lambda events; both are accepted."""
    url = message.get("SigningCertURL") or message.get("SigningCertUrl") or ""
    return url if isinstance(url, str) else ""


class CertificateStore:
    """Certificates by URL: pinned ones from ``pinned_dir`` (by file name), else downloaded once."""

    def __init__(self, pinned_dir: str | Path | None, *, download: bool, timeout: float = 5.0):
        self.pinned_dir = Path(pinned_dir) if pinned_dir else None
        self.download = download
        self.timeout = timeout
        self._cache: dict[str, x509.Certificate] = {}
        self._failed: dict[str, float] = {}  # URL → when a fetch last failed: not fetched again for a minute
        self._lock = threading.Lock()

    def get(self, url: str) -> x509.Certificate:
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None:
            return cached
        pem = self._pinned(url) or self._fetched(url)
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise SnsSignatureError("the signing certificate cannot be read") from exc
        with self._lock:
            self._cache[url] = certificate
        return certificate

    def _pinned(self, url: str) -> bytes | None:
        if self.pinned_dir is None:
            return None
        name = Path(urlsplit(url).path).name
        path = self.pinned_dir / name
        return path.read_bytes() if name and path.is_file() else None

    def _fetched(self, url: str) -> bytes:
        if not self.download:
            raise SnsSignatureError("the signing certificate is not pinned and downloads are off")
        with self._lock:
            failed_at = self._failed.get(url)
        if failed_at is not None and time.monotonic() - failed_at < FAILED_FETCH_SECONDS:
            raise SnsSignatureError("the signing certificate could not be fetched (recently)")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (https, SNS host checked)
                pem = response.read(MAX_CERT_BYTES + 1)
        except OSError as exc:  # URLError, HTTPError, timeouts
            with self._lock:
                self._failed[url] = time.monotonic()
            raise SnsSignatureError("the signing certificate could not be fetched") from exc
        if len(pem) > MAX_CERT_BYTES:
            raise SnsSignatureError("the signing certificate is too large")
        return pem


def sns_signature_verify(message: dict, *, certificates: CertificateStore, timestamp: datetime) -> None:
    """Raise SnsSignatureError unless ``message`` carries a valid SNS signature. ``timestamp`` is the
    message's own (parsed) Timestamp: the certificate must have been valid then."""
    version = message.get("SignatureVersion")
    algorithm = HASHES.get(version if isinstance(version, str) else "")
    if algorithm is None:
        raise SnsSignatureError(f"unknown SignatureVersion {str(version)[:10]!r}")
    url = signing_cert_url(message)
    problem = signing_cert_url_problem(url)
    if problem:
        raise SnsSignatureError(f"SigningCertURL is {problem}")
    signed = string_to_sign(message)
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsSignatureError("Signature is not base64") from exc
    certificate = certificates.get(url)
    if not certificate.not_valid_before_utc <= timestamp <= certificate.not_valid_after_utc:
        raise SnsSignatureError("the signing certificate was not valid at the message's Timestamp")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsSignatureError("the signing certificate's key is not RSA")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise SnsSignatureError("the signature does not match the message") from exc
