"""Tables of notifications: rest-hook subscriptions, their deliveries, endpoint allow-lists."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from gateway.security.sealed import SealedText
from provider_registry.models import utcnow


class SubscriptionStatus(StrEnum):
    """R4B Subscription.status values the gateway uses."""

    ACTIVE = "active"
    ERROR = "error"
    OFF = "off"


class DeliveryStatus(StrEnum):
    """Where one notification to one subscriber stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"  # the subscription was deleted before delivery


class SubscriptionRecord(SQLModel, table=True):
    """A hospital's rest-hook: which resource changes it hears about and where they go."""

    __tablename__ = "subscriptions"

    id: str = Field(primary_key=True, max_length=36)
    hcode: str = Field(foreign_key="hospitals.hcode", index=True, max_length=9)
    criteria: str = Field(max_length=64)
    endpoint: str = Field(max_length=2000)
    # Headers sent with each delivery (often the endpoint's own credentials): sealed at rest
    headers_json: str = Field(
        default="[]", sa_column=Column(SealedText("subscriptions.headers_json"), nullable=False)
    )
    # The HMAC key of Standard Webhooks signatures; shown to the hospital once, at creation.
    secret: str = Field(sa_column=Column(SealedText("subscriptions.secret"), nullable=False))
    status: str = Field(default=SubscriptionStatus.ACTIVE.value, max_length=16)
    error: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=500)
    events_since_start: int = 0
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None


class NotificationDelivery(SQLModel, table=True):
    """One outbox event for one subscription; its id is the stable `webhook-id`."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "subscription_id", name="uq_delivery_event_subscription"),
    )

    id: str = Field(primary_key=True, max_length=36)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    subscription_id: str = Field(foreign_key="subscriptions.id", index=True, max_length=36)
    hcode: str = Field(max_length=9)
    event_number: int
    # The event as sent: it carries the ClaimResponse, so the patient's identifier
    body: str = Field(
        sa_column=Column(SealedText("notification_deliveries.body"), nullable=False)
    )
    status: str = Field(default=DeliveryStatus.PENDING.value, index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    dead_at: datetime | None = None


class EndpointHost(SQLModel, table=True):
    """A host an admin allowed as a hospital's notification endpoint."""

    __tablename__ = "hospital_endpoint_hosts"

    hcode: str = Field(foreign_key="hospitals.hcode", primary_key=True, max_length=9)
    host: str = Field(primary_key=True, max_length=253)
    added_at: datetime = Field(default_factory=utcnow)
