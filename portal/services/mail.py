"""Outgoing email over SMTP (the standard library's smtplib and email.message), when configured."""

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid


def mail_configured(config):
    """True when MAIL_SERVER and MAIL_FROM are set, so the portal may send email."""
    return bool(config.get("MAIL_SERVER") and config.get("MAIL_FROM"))


def build_message(config, to, subject, body):
    """An EmailMessage from MAIL_FROM to one person."""
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2].strip("> ") or None)
    message.set_content(body)
    return message


def send_message(config, message):
    """Send one message through MAIL_SERVER:MAIL_PORT (STARTTLS and login when configured).

    smtplib's errors (SMTPException, OSError) propagate, so the calling job is retried.
    """
    with smtplib.SMTP(
        config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
