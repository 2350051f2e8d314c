"""Fixtures of the messaging tests: a real SMTP sink (see tests/smtp_sink.py)."""

from tests.smtp_sink import smtp_down, smtp_sink  # noqa: F401
