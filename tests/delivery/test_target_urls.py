"""Target URLs: the label shown for a webhook or Apprise URL gives nothing away; bad webhook URLs are refused."""
import pytest

from bot.delivery.target_urls import check_webhook_url, mask_url, scrub
from bot.errors import UsageError
from bot.models import SubscriberKind


def test_a_webhook_label_keeps_scheme_host_and_port_only():
    label = mask_url(SubscriberKind.WEBHOOK, "https://user:pw@hooks.example.org:8443/T0KEN/x?key=secret")
    assert label.startswith("https://hooks.example.org:8443/… #")
    assert "user" not in label and "pw" not in label and "T0KEN" not in label and "secret" not in label


def test_an_apprise_label_keeps_the_scheme_only():
    label = mask_url(SubscriberKind.APPRISE, "tgram://123456:BOT-TOKEN/42")
    assert label.startswith("tgram://… #") and "BOT-TOKEN" not in label and "123456" not in label


def test_two_urls_on_one_host_get_different_labels():
    a = mask_url(SubscriberKind.WEBHOOK, "https://hooks.example.org/a")
    b = mask_url(SubscriberKind.WEBHOOK, "https://hooks.example.org/b")
    assert a != b


@pytest.mark.parametrize("url", ["ftp://example.org/x", "hooks.example.org/x", "https:///x", "http://h:99999/"])
def test_a_webhook_url_must_be_http_with_a_host(url):
    with pytest.raises(UsageError) as error:
        check_webhook_url(url)
    assert url not in str(error.value)


def test_scrub_removes_urls_and_secrets():
    assert scrub("failed for https://x/T0KEN with s3", "https://x/T0KEN", "s3", None) == "failed for *** with ***"
