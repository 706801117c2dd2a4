"""The notification a rest-hook receives: a history Bundle in the Subscriptions backport style.

The first entry is a Parameters SubscriptionStatus (which subscription, how many events it has
had, this event's number, `type` event-notification); the changed resource follows in full
(payload `application/fhir+json`, full-resource content).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport"
STATUS_PROFILE = f"{BACKPORT}/StructureDefinition/backport-subscription-status-r4"


def subscription_status(
    *,
    base_url: str,
    subscription_id: str,
    criteria: str,
    event_number: int,
    at: datetime,
    focus: str,
) -> dict[str, Any]:
    """The SubscriptionStatus Parameters of one event-notification."""
    return {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": [
            {
                "name": "subscription",
                "valueReference": {"reference": f"{base_url}/fhir/Subscription/{subscription_id}"},
            },
            {"name": "topic", "valueCanonical": topic_url(base_url, criteria)},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event_number)},
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event_number)},
                    {"name": "timestamp", "valueInstant": at.isoformat()},
                    {"name": "focus", "valueReference": {"reference": focus}},
                ],
            },
        ],
    }


def topic_url(base_url: str, criteria: str) -> str:
    """The canonical URL of the topic a criteria stands for."""
    return f"{base_url}/fhir/SubscriptionTopic/{criteria}-changed"


def notification_bundle(
    *,
    base_url: str,
    subscription_id: str,
    criteria: str,
    event_number: int,
    at: datetime,
    resource: dict[str, Any],
) -> dict[str, Any]:
    """The history Bundle sent for one event: status first, then the resource."""
    kind, rid = resource["resourceType"], resource["id"]
    full_url = f"{base_url}/fhir/{kind}/{rid}"
    status = subscription_status(
        base_url=base_url,
        subscription_id=subscription_id,
        criteria=criteria,
        event_number=event_number,
        at=at,
        focus=full_url,
    )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": at.isoformat(),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status['id']}",
                "resource": status,
                "request": {
                    "method": "GET",
                    "url": f"{base_url}/fhir/Subscription/{subscription_id}/$status",
                },
                "response": {"status": "200"},
            },
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "PUT", "url": f"{kind}/{rid}"},
                "response": {"status": "200"},
            },
        ],
    }
