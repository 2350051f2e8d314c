"""Send one email now: SMTP when SMTP_HOST is set, else print to the console log."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from prm_saas.settings import get_settings
from tenants.errors import DomainError

log = logging.getLogger("prm_saas.mail")


class MailFailed(DomainError):
    """The mail server did not take the message."""

    key = "mail.send_failed"


def send_email(*, to: str, subject: str, body: str) -> str:
    """Deliver a plain-text email; returns its Message-ID. Raises MailFailed."""
    s = get_settings()
    msg = EmailMessage()
    msg["From"] = s.mail_from
    msg["To"] = to
    # One line: a line break (e.g. from a tenant name) would be refused by the
    # email package with a ValueError, or worse, start a new header.
    msg["Subject"] = " ".join(subject.split())
    msg["Message-ID"] = make_msgid(domain="prm.localhost")
    msg.set_content(body)
    if not s.smtp_host:
        log.warning("console mail to %s: %s\n%s", to, subject, body)
        return str(msg["Message-ID"])
    try:
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("mail to %s failed: %s", to, exc)
        raise MailFailed() from exc
    return str(msg["Message-ID"])


def send_sms(*, to: str, body: str) -> None:
    """Text a phone. No SMS provider is wired yet: the message goes to the console log."""
    log.warning("console sms to %s: %s", to, body)
