import pytest

from alarms.models import AwsAccount
from alarms.tests.conftest import catalog, editor, make_alarms, viewer  # noqa: F401 (fixtures shared with alarms)
from portal.demo.sns_signer import SnsSigner

TOPIC = "arn:aws:sns:eu-west-1:111111111111:alarms"


@pytest.fixture
def signer(tmp_path, settings):
    """A signer whose certificate the portal has pinned, and its topic allowed."""
    settings.SNS_CERT_DIR = str(tmp_path / "certs")
    settings.SNS_CERT_DOWNLOAD = False
    settings.SNS_ALLOWED_TOPIC_ARNS = [TOPIC]
    from incidents.views.hooks import certificates

    certificates.cache_clear()
    yield SnsSigner(tmp_path / "certs")
    certificates.cache_clear()


@pytest.fixture
def account(db):
    return AwsAccount.objects.create(account_id="111111111111", name="prod", regions=["eu-west-1"])
