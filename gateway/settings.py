"""Settings from the environment (prefix CLAIMGW_); a prod start refuses default secrets."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TOKEN_SECRET = "dev-only-token-secret-change-me-0123456789"


class Settings(BaseSettings):
    """Everything the gateway reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CLAIMGW_", extra="ignore")

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
    log_level: str = "info"
    log_json: bool = True
    metrics_hospital_label: bool = True  # per-HCODE label on counters; off drops it

    @model_validator(mode="after")
    def _refuse_default_secrets_in_prod(self) -> Settings:
        if self.env == "prod" and self.token_secret.get_secret_value() == DEFAULT_TOKEN_SECRET:
            raise ValueError("CLAIMGW_TOKEN_SECRET must be set to a secret of your own in prod")
        if self.env == "prod" and len(self.token_secret.get_secret_value()) < 32:
            raise ValueError("CLAIMGW_TOKEN_SECRET must be at least 32 characters in prod")
        return self

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
