"""Application settings from the environment, with embedded defaults.

Secrets come only from the environment. The defaults are for a laptop: SQLite,
the kombu SQLAlchemy broker, mail printed to the console.
"""

from __future__ import annotations

import base64
import hashlib
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache

from tenants.settings import VAR_DIR

_DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once per process."""

    env: str
    secret_key: str
    public_url: str
    redis_url: str | None
    celery_broker_url: str
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str
    argon2_time_cost: int
    argon2_memory_kib: int
    # Stripe: stripe_api_base is localstripe's URL in dev and tests; None = real Stripe.
    stripe_api_base: str | None = None
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # Platform billing (docs/design/billing.md): days a tenant stays past_due before
    # it is suspended, and who renews subscriptions: "platform" (our beat creates and
    # pays each period's invoice; localstripe has no clock) or "stripe" (Stripe does).
    billing_grace_days: int = 7
    billing_renewals: str = "platform"

    @property
    def fernet_key(self) -> bytes:
        """A Fernet key derived from the secret key (encrypts stored SSO secrets)."""
        return base64.urlsafe_b64encode(hashlib.sha256(self.secret_key.encode()).digest())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process."""
    env = os.environ.get("PRM_ENV", "dev")
    secret = os.environ.get("PRM_SECRET_KEY", _DEV_SECRET)
    if secret == _DEV_SECRET:
        if env == "production":
            raise RuntimeError("PRM_SECRET_KEY must be set in production")
        warnings.warn("PRM_SECRET_KEY is not set; using the development key", stacklevel=2)
    redis_url = os.environ.get("REDIS_URL") or None
    broker = (
        os.environ.get("CELERY_BROKER_URL")
        or redis_url
        or (f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite'}")
    )
    stripe_base = (os.environ.get("PRM_STRIPE_API_BASE") or "").rstrip("/") or None
    return Settings(
        env=env,
        secret_key=secret,
        public_url=os.environ.get("PRM_PUBLIC_URL", "http://localhost:3000").rstrip("/"),
        redis_url=redis_url,
        celery_broker_url=broker,
        smtp_host=os.environ.get("SMTP_HOST") or None,
        smtp_port=int(os.environ.get("SMTP_PORT", "25")),
        smtp_user=os.environ.get("SMTP_USER") or None,
        smtp_password=os.environ.get("SMTP_PASSWORD") or None,
        smtp_starttls=os.environ.get("SMTP_STARTTLS", "0") == "1",
        mail_from=os.environ.get("MAIL_FROM", "PRM <no-reply@prm.localhost>"),
        # OWASP's argon2id minimum is m=19 MiB, t=2; the defaults are above it.
        argon2_time_cost=int(os.environ.get("PRM_ARGON2_TIME_COST", "3")),
        argon2_memory_kib=int(os.environ.get("PRM_ARGON2_MEMORY_KIB", "65536")),
        # Stripe (scripts/localstripe.sh env prints a local set for localstripe).
        stripe_api_base=stripe_base,
        stripe_secret_key=os.environ.get("STRIPE_SECRET_KEY", ""),
        stripe_publishable_key=os.environ.get("STRIPE_PUBLISHABLE_KEY", ""),
        stripe_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        stripe_js_url=os.environ.get("STRIPE_JS_URL")
        or (f"{stripe_base}/js.stripe.com/v3/" if stripe_base else "https://js.stripe.com/v3/"),
        billing_grace_days=max(0, int(os.environ.get("PRM_BILLING_GRACE_DAYS", "7"))),
        billing_renewals=(
            "stripe"
            if os.environ.get("PRM_BILLING_RENEWALS", "").strip() == "stripe"
            else "platform"
        ),
    )
