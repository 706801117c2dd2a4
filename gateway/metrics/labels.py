"""Bounded label values: anything outside the expected shape collapses into one value."""

from __future__ import annotations

import re

UNKNOWN = "unknown"
OTHER = "other"
UNMATCHED = "unmatched"

_HCODE = re.compile(r"\d{5}|\d{9}")
_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
CLAIM_TYPES = frozenset({"institutional", "oral", "pharmacy", "professional", "vision"})
BUNDLE_OUTCOMES = ("accepted", "duplicate", "invalid", "rejected")


def hospital_label(hcode: object, *, enabled: bool) -> str:
    """The hcode label value; empty (no label, to Prometheus) when the setting turns it off."""
    if not enabled:
        return ""
    return hcode if isinstance(hcode, str) and _HCODE.fullmatch(hcode) else UNKNOWN


def code_label(code: str | None) -> str:
    """A rule id or reason code of our own catalogues; anything else becomes `other`."""
    return code if code and _CODE.fullmatch(code) else OTHER


def claim_type_label(claim_type: str) -> str:
    """An HL7 claim-type code, or `other`."""
    return claim_type if claim_type in CLAIM_TYPES else OTHER


def method_label(method: str) -> str:
    """An HTTP method, or `other`."""
    return method if method in _METHODS else OTHER


def status_class(status: int) -> str:
    """`2xx`, `4xx`, ... for a status code."""
    return f"{status // 100}xx"


def bundle_outcome(status: int, *, replayed: bool) -> str | None:
    """What a $submit answer means for the bundle; None when no bundle was judged (401, 429...)."""
    if replayed:
        return "duplicate"
    if 200 <= status < 300:
        return "accepted"
    if status in (400, 413, 415):
        return "invalid"
    if status in (403, 422):
        return "rejected"
    return None
