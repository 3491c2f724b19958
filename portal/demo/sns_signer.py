"""An SNS look-alike signer for the demo and the tests: a self-signed certificate written into a directory the
portal reads as ``SNS_CERT_DIR``, and envelopes signed exactly as SNS signs them (SignatureVersion 1 or 2), so
that demo traffic goes through the real verification path."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from incidents.ingest.sns_signature import string_to_sign

CERT_NAME = "SimpleNotificationService-okami-demo.pem"
KEY_NAME = "okami-demo-signing-key.pem"  # kept beside the certificate; the portal never reads it


class SnsSigner:
    def __init__(self, cert_dir: str | Path, *, region: str = "eu-west-1"):
        self.cert_dir = Path(cert_dir)
        self.region = region
        self.cert_url = f"https://sns.{region}.amazonaws.com/{CERT_NAME}"
        self._key = self._load_or_make()

    def _load_or_make(self) -> rsa.RSAPrivateKey:
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = self.cert_dir / KEY_NAME, self.cert_dir / CERT_NAME
        if key_path.exists() and cert_path.exists():
            return serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com (Okami demo)")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=3650))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return key

    def envelope(
        self,
        *,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        kind: str = "Notification",
        timestamp: datetime | None = None,
        version: str = "1",
        message_id: str | None = None,
        subscribe_url: str | None = None,
    ) -> dict:
        """A signed SNS envelope, as SNS posts it to an HTTP(S) subscription."""
        envelope = {
            "Type": kind,
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url,
        }
        if subject is not None:
            envelope["Subject"] = subject
        if kind != "Notification":
            envelope["Token"] = uuid.uuid4().hex
            envelope["SubscribeURL"] = (
                subscribe_url or f"https://sns.{self.region}.amazonaws.com/?Action=ConfirmSubscription"
            )
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (what SNS v1 uses)
        signature = self._key.sign(string_to_sign(envelope), padding.PKCS1v15(), algorithm)
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope


def alarm_message(
    *, arn: str, name: str, new_state: str, old_state: str, at: datetime, reason: str = "", trigger: dict | None = None
) -> str:
    """The JSON a CloudWatch alarm action publishes to SNS on a state change."""
    account_id, region = arn.split(":")[4], arn.split(":")[3]
    return json.dumps(
        {
            "AlarmName": name,
            "AlarmDescription": None,
            "AWSAccountId": account_id,
            "NewStateValue": new_state,
            "NewStateReason": reason or f"Threshold Crossed: moved to {new_state}",
            "StateChangeTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
            "Region": region,
            "AlarmArn": arn,
            "OldStateValue": old_state,
            "Trigger": trigger or {},
        }
    )
