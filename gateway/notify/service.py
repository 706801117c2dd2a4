"""Subscriptions: register, read, list and delete a hospital's rest-hooks; endpoint allow-lists."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from fhir.resources.R4B.subscription import Subscription
from pydantic import ValidationError
from sqlmodel import Session

from fhir_mappings import systems
from gateway.auth.tokens import AccessGrant
from gateway.fhir.responses import ProblemError, http_problem
from gateway.notify.destinations import (
    EndpointRefused,
    Resolver,
    check_endpoint,
    normalise_host,
    resolve,
)
from gateway.notify.models import SubscriptionRecord, SubscriptionStatus
from gateway.notify.repository import (
    MAX_SUBSCRIPTIONS,
    EndpointHostRepository,
    SubscriptionRepository,
)

log = structlog.get_logger("claimgw.notify")

CRITERIA = ("ClaimResponse", "PaymentReconciliation")
PAYLOAD = "application/fhir+json"
SECRET_EXTENSION = f"{systems.PROJECT_BASE}/StructureDefinition/subscription-signing-secret"
MAX_HEADERS = 5
HEADER = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}):[ \t]*([\x20-\x7e]{0,500})$")
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "connection",
        "transfer-encoding",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create_subscription(
    session: Session,
    *,
    grant: AccessGrant,
    body: bytes,
    dev: bool,
    resolver: Resolver = resolve,
) -> tuple[SubscriptionRecord, str]:
    """Store a hospital's rest-hook after checking it; the record and its secret (shown once)."""
    raw = _parse(body)
    criteria, endpoint, headers = _rules(raw)
    hosts = EndpointHostRepository(session).hosts(grant.hcode)
    try:
        check_endpoint(endpoint, allowed_hosts=hosts, dev=dev, resolver=resolver)
    except EndpointRefused as exc:
        raise _refuse(f"channel.endpoint: {exc}.", "Subscription.channel.endpoint") from exc
    repo = SubscriptionRepository(session, grant.hcode)
    if repo.count() >= MAX_SUBSCRIPTIONS:
        raise _refuse(f"A hospital may have at most {MAX_SUBSCRIPTIONS} subscriptions.", "")
    secret = new_secret()
    record = SubscriptionRecord(
        id=str(uuid.uuid4()),
        hcode=grant.hcode,
        criteria=criteria,
        endpoint=endpoint,
        headers_json=orjson.dumps(headers).decode(),
        secret=secret,
        reason=str(raw.get("reason") or "")[:500] or None,
        created_by=grant.client_id,
        created_at=datetime.now(UTC),
    )
    repo.add(record)
    session.commit()
    log.info("subscription.created", subscription_id=record.id, hcode=grant.hcode)
    return record, secret


def _parse(body: bytes) -> dict[str, Any]:
    """The posted Subscription, checked against the R4B model (400 if it is not one)."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _invalid("The body is not JSON.") from exc
    if not isinstance(raw, dict) or raw.get("resourceType") != "Subscription":
        raise _invalid("Send a FHIR R4B Subscription resource.")
    raw.setdefault("reason", "Notifications to the hospital")
    raw.setdefault("status", "requested")
    try:
        Subscription.model_validate(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[:3]
        raise _invalid(f"The Subscription is not valid FHIR R4B: {' '.join(first)[:300]}") from exc
    return raw


def _rules(raw: dict[str, Any]) -> tuple[str, str, list[str]]:
    """criteria, endpoint and headers of a rest-hook the gateway supports (422 otherwise)."""
    criteria = str(raw.get("criteria", ""))
    if criteria not in CRITERIA:
        raise _refuse(
            "criteria must be ClaimResponse or PaymentReconciliation.", "Subscription.criteria"
        )
    channel = raw.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise _refuse("channel.type must be rest-hook.", "Subscription.channel.type")
    if channel.get("payload") != PAYLOAD:
        raise _refuse(f"channel.payload must be {PAYLOAD}.", "Subscription.channel.payload")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > 2000:
        raise _refuse("channel.endpoint is required.", "Subscription.channel.endpoint")
    return criteria, endpoint, _headers(channel.get("header") or [])


def _headers(values: list[Any]) -> list[str]:
    if len(values) > MAX_HEADERS:
        raise _refuse(
            f"At most {MAX_HEADERS} channel.header values.", "Subscription.channel.header"
        )
    headers = []
    for value in values:
        found = HEADER.match(str(value))
        if found is None or found.group(1).lower() in RESERVED_HEADERS:
            raise _refuse(
                "channel.header values are 'Name: value', and may not set Host, Content-Type "
                "or the webhook-* signature headers.",
                "Subscription.channel.header",
            )
        headers.append(f"{found.group(1)}: {found.group(2)}")
    return headers


def subscription_resource(record: SubscriptionRecord, secret: str | None = None) -> dict[str, Any]:
    """The R4B Subscription of a record; the signing secret only when it was just created."""
    resource: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": record.id,
        "status": record.status,
        "reason": record.reason or "Notifications to the hospital",
        "criteria": record.criteria,
        "channel": {
            "type": "rest-hook",
            "endpoint": record.endpoint,
            "payload": PAYLOAD,
        },
    }
    headers = orjson.loads(record.headers_json)
    if headers:
        resource["channel"]["header"] = headers
    if record.status == SubscriptionStatus.ERROR.value and record.error:
        resource["error"] = record.error
    if secret is not None:
        resource["extension"] = [{"url": SECRET_EXTENSION, "valueString": secret}]
    return resource


def delete_subscription(session: Session, *, grant: AccessGrant, subscription_id: str) -> None:
    """Stop a hospital's subscription; pending notifications to it are dropped."""
    repo = SubscriptionRepository(session, grant.hcode)
    record = repo.get(subscription_id)
    if record is None:
        raise not_found(subscription_id)
    record.status = SubscriptionStatus.OFF.value
    record.deleted_at = datetime.now(UTC)
    session.add(record)
    session.commit()
    log.info("subscription.deleted", subscription_id=record.id, hcode=grant.hcode)


def not_found(subscription_id: str) -> ProblemError:
    """404 for an unknown id or another hospital's subscription."""
    shown = subscription_id[:64]
    return http_problem(
        404, "not-found", f"Subscription/{shown} is not known.", f"ไม่พบ Subscription/{shown}"
    )


def allow_host(session: Session, *, hcode: str, host: str, remove: bool = False) -> list[str]:
    """Add (or remove) a host on a hospital's endpoint allow-list; the list after the change."""
    repo = EndpointHostRepository(session)
    value = normalise_host(host)
    if remove:
        repo.remove(hcode, value)
    else:
        repo.allow(hcode, value)
    session.flush()
    return repo.hosts(hcode)


def _invalid(en: str) -> ProblemError:
    return http_problem(400, "structure", en, "ข้อมูล Subscription ไม่ถูกต้องตามมาตรฐาน FHIR R4B")


def _refuse(en: str, expression: str) -> ProblemError:
    th = "ไม่สามารถลงทะเบียน Subscription นี้ได้ กรุณาตรวจสอบ endpoint และค่าที่ส่ง"
    return http_problem(422, "business-rule", en, th, expression)
