"""Eligibility and tariff pricing inside the intake transaction."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.claims.service import Pricer
from gateway.pricing.service import TariffPricer
from gateway.settings import Settings


def build_pricer(settings: Settings, engine: Engine) -> Pricer:
    """The pricing step of intake: SSO eligibility, tariff, limits and accumulators."""
    return TariffPricer(engine)
