"""Settings from the environment (prefix CLAIMGW_); a prod start refuses default secrets."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TOKEN_SECRET = "dev-only-token-secret-change-me-0123456789"


class Settings(BaseSettings):
    """Everything the gateway reads from its environment."""

    # hide_input_in_errors: a refused secret is never echoed back at start (issue 10, 12)
    model_config = SettingsConfigDict(
        env_prefix="CLAIMGW_", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["dev", "prod"] = "dev"
    database_url: str = "sqlite:///./var/claimgw.db"
    base_url: str = "http://127.0.0.1:8000"
    token_secret: SecretStr = SecretStr(DEFAULT_TOKEN_SECRET)
    token_ttl_seconds: int = Field(default=300, ge=30, le=300)
    assertion_max_lifetime_seconds: int = Field(default=300, ge=30, le=300)
    max_body_bytes: int = Field(default=5_000_000, ge=1024)
    max_bundle_entries: int = Field(default=1000, ge=1)
    rate_limit: str = "1200/minute"
    db_pool_size: int = Field(default=10, ge=1)
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    idempotency_lease_seconds: int = Field(default=60, ge=1)
    staff_session_idle_hours: float = Field(default=8, gt=0, le=24)  # renewed on activity
    staff_token_ttl_seconds: int = Field(default=900, ge=30, le=900)
    log_level: str = "info"
    log_json: bool = True
    metrics_hospital_label: bool = True  # per-HCODE label on counters; off drops it
    delivery_worker: bool = False  # `serve --worker`: each server process also delivers
    delivery_max_attempts: int = Field(default=10, ge=1)  # then the message is dead-lettered
    delivery_backoff_seconds: float = Field(default=5.0, gt=0)  # first retry; doubles, jittered
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_lease_seconds: int = Field(default=60, ge=1)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    payments_pause_seconds: float = Field(default=0.0, ge=0)  # test hook, see docs/operations.md
    review_sla_hours: int = Field(default=72, ge=1)
    review_audit_rate: float = Field(default=0.005, ge=0, le=1)  # share of unflagged claims
    review_audit_daily_cap: int = Field(default=20, ge=0)  # random-audit claims per hospital/day
    review_audit_seed: str = "sso-random-audit"  # draws are reproducible from the claim's id
    review_lock_minutes: int = Field(default=30, ge=1)
    four_eyes_thb: Decimal = Field(default=Decimal(10_000), ge=0)
    # Security (issue 10, docs/security.md)
    secrets_dir: str = "var"  # dev: a generated token secret lives here (mode 600)
    redis_url: str | None = None  # shared rate limits across processes; unset: per process
    token_rate_limit: str = "120/minute"  # POST /auth/token per client address
    validate_rate_limit: str = "600/minute"  # $validate per hospital (it reveals insurance)
    metrics_token: SecretStr | None = None  # prod: GET /metrics needs `Bearer <token>`
    api_docs: bool | None = None  # /docs and /openapi.json; unset: on in dev, off in prod
    client_status_seconds: float = Field(default=2.0, ge=0, le=5)  # disable reaches tokens
    # Patient data at rest (gateway/security/data_key.py): `id:base64key,...`, the first
    # encrypts; the lookup key hashes CIDs. Dev without them generates both into var/.
    data_keys: SecretStr | None = None
    lookup_key: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_default_secrets_in_prod(self) -> Settings:
        if self.env == "prod" and self.token_secret.get_secret_value() == DEFAULT_TOKEN_SECRET:
            raise ValueError("CLAIMGW_TOKEN_SECRET must be set to a secret of your own in prod")
        if self.env == "prod" and len(self.token_secret.get_secret_value()) < 32:
            raise ValueError("CLAIMGW_TOKEN_SECRET must be at least 32 characters in prod")
        if self.env == "prod" and (self.data_keys is None or self.lookup_key is None):
            raise ValueError("CLAIMGW_DATA_KEYS and CLAIMGW_LOOKUP_KEY must be set in prod")
        return self

    @property
    def docs_enabled(self) -> bool:
        """Whether /docs and /openapi.json are served (off in prod unless enabled)."""
        return self.api_docs if self.api_docs is not None else self.env == "dev"

    @property
    def token_url(self) -> str:
        """Where clients post their assertions; also the assertion audience."""
        return f"{self.base_url.rstrip('/')}/auth/token"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
