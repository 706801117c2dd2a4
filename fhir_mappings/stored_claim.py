"""The Claim as the server keeps it: self-contained, so that a read Claim is valid on its own.

A submitted bundle links the Claim to its Patient, Coverage, Organization, Encounter and the
rest by `urn:uuid:` (or bundle-relative) references that mean nothing outside the bundle. The
stored Claim carries those resources in `Claim.contained` and points at them with `#id`, the
FHIR way for resources that have no life of their own on this server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

NOT_ALLOWED_IN_CONTAINED_META = ("versionId", "lastUpdated", "security")


def self_contained_claim(bundle: dict[str, Any], claim_id: str) -> dict[str, Any]:
    """The bundle's first entry (the Claim) with every resource it references contained."""
    entries = bundle.get("entry") or []
    claim: dict[str, Any] = _copy(entries[0]["resource"])
    claim.pop("contained", None)
    claim["id"] = claim_id
    resources = _bundle_resources(entries[1:])
    local: dict[int, str] = {}
    contained: list[dict[str, Any]] = []
    pending = [claim]
    while pending:
        holder = pending.pop()
        for reference in _references(holder):
            target = resources.get(reference["reference"])
            if target is None:
                continue
            key = id(target)
            if key not in local:
                copied = _containable(target, f"r{len(local) + 1}")
                local[key] = copied["id"]
                contained.append(copied)
                pending.append(copied)
            reference["reference"] = f"#{local[key]}"
    if contained:
        claim["contained"] = sorted(contained, key=lambda r: int(r["id"][1:]))
    return claim


def _copy(resource: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON object; orjson's round trip is several times copy.deepcopy's speed."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(resource))
    return copied


def _bundle_resources(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each entry's resource under every name a reference may use: fullUrl and Type/id."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        if entry.get("fullUrl"):
            found[str(entry["fullUrl"])] = resource
        if resource.get("resourceType") and resource.get("id"):
            found[f"{resource['resourceType']}/{resource['id']}"] = resource
    return found


def _containable(resource: dict[str, Any], local_id: str) -> dict[str, Any]:
    """A copy fit to be contained: a local id, no nested contained, no version metadata."""
    copied = _copy(resource)
    copied["id"] = local_id
    copied.pop("contained", None)
    meta = copied.get("meta")
    if isinstance(meta, dict):
        for name in NOT_ALLOWED_IN_CONTAINED_META:
            meta.pop(name, None)
        if not meta:
            copied.pop("meta")
    return copied


def _references(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference (a dict with a string `reference`) inside a resource, not in contained."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for key, value in node.items():
            if key != "contained":
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)
