"""Fixtures of the tracking tests: a real SMTP sink, a real SMS provider and the
app's HTTP routes on a port (see tests/smtp_sink.py and tests/sms_provider.py)."""

from tests.sms_provider import app_server, sms_provider  # noqa: F401
from tests.smtp_sink import smtp_down, smtp_sink  # noqa: F401
