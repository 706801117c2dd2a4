"""Register trained model versions and promote one; report the active one for readiness."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from fraud.model import FraudModel, dump_model
from gateway.scoring.models import FraudModelVersion
from gateway.scoring.repository import ModelRegistry


def register_model(
    session: Session,
    *,
    model: FraudModel,
    artefact: bytes | None = None,
    promote: bool = False,
    by: str = "cli",
) -> FraudModelVersion:
    """Record a trained version with its artefact; optionally make it the active one."""
    data = artefact if artefact is not None else dump_model(model)
    window = model.meta.get("training_window", {})
    row = FraudModelVersion(
        version=model.version,
        threshold_mode=model.threshold.mode,
        threshold_value=model.threshold.value,
        threshold_risk=model.threshold.risk,
        training_first_day=_day(window.get("first_day")),
        training_last_day=_day(window.get("last_day")),
        training_claims=int(model.meta.get("training_claims", 0)),
        rules_version=str(model.meta.get("rules_version", "")),
        metadata_json=json.dumps(model.meta, ensure_ascii=False),
        artefact=data,
        artefact_sha256=hashlib.sha256(data).hexdigest(),
        artefact_bytes=len(data),
    )
    registry = ModelRegistry(session)
    registry.add(row)
    session.flush()
    if promote:
        registry.promote(model.version, by=by)
    return row


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def active_model_status(engine: Engine) -> str:
    """`ok` with a promoted version, `none` without one (intake runs unscored), or `unreachable`."""
    try:
        with Session(engine) as session:
            return "ok" if ModelRegistry(session).active_version() else "none"
    except SQLAlchemyError:
        return "unreachable"
