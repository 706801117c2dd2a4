"""Parse a submitted body into an R4B Bundle and check its shape and references in O(n)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from pydantic import ValidationError

from fhir_mappings import limits
from fhir_mappings.problems import Problem
from fhir_mappings.rule_catalogue import problem

ENTRY = "Bundle.entry[{i}].resource"
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ReferenceIndex:
    """Bundle entries by every name a reference may use for them."""

    by_name: dict[str, int]

    def resolve(self, reference: str) -> int | None:
        """The entry index a reference points to, or None."""
        found = self.by_name.get(reference)
        if found is None and "/" in reference:
            found = self.by_name.get("/".join(reference.rsplit("/", 2)[-2:]))
        return found


@dataclass(frozen=True, slots=True)
class ParsedBundle:
    """A structurally sound claim bundle: the R4B model, its raw JSON and its reference index."""

    bundle: Bundle
    raw: dict[str, Any]
    index: ReferenceIndex

    @property
    def claim(self) -> Claim:
        """The Claim, always the first entry."""
        resource = self.bundle.entry[0].resource  # type: ignore[index]
        assert isinstance(resource, Claim)
        return resource

    def resource(self, reference: str | None) -> tuple[int, Any] | None:
        """The entry index and resource a reference resolves to, if any."""
        if not reference:
            return None
        index = self.index.resolve(reference)
        if index is None:
            return None
        return index, self.bundle.entry[index].resource  # type: ignore[index]


def parse_claim_bundle(body: bytes, *, max_entries: int) -> ParsedBundle | list[Problem]:
    """Parse bytes into a claim Bundle, or every problem that stops it."""
    raw = _load_json(body)
    if isinstance(raw, list):
        return raw
    bounded = bounds_problems(raw)  # before the FHIR models recurse into it
    if bounded:
        return bounded
    shape = _precheck_shape(raw, max_entries)
    if shape:
        return shape
    try:
        bundle = Bundle.model_validate(raw)
    except ValidationError as exc:
        return _fhir_problems(exc)
    problems = _check_entries(raw)
    if problems:
        return problems
    index = _index_entries(raw)
    problems = list(_unresolved_references(raw, index))
    if problems:
        return problems
    return ParsedBundle(bundle=bundle, raw=raw, index=index)


def _load_json(body: bytes) -> dict[str, Any] | list[Problem]:
    if not body.strip():
        return [problem("body-empty", "Bundle")]
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return [problem("json-invalid", "Bundle", error=str(exc)[:200])]
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        found = raw.get("resourceType") if isinstance(raw, dict) else type(raw).__name__
        return [problem("not-a-bundle", "Bundle", found=str(found)[:64])]
    return raw


def _precheck_shape(raw: dict[str, Any], max_entries: int) -> list[Problem]:
    entries = raw.get("entry")
    if isinstance(entries, list) and len(entries) > max_entries:
        return [problem("too-many-entries", "Bundle.entry", count=len(entries), limit=max_entries)]
    first = entries[0] if isinstance(entries, list) and entries else None
    resource = first.get("resource") if isinstance(first, dict) else None
    items = resource.get("item") if isinstance(resource, dict) else None
    if isinstance(items, list) and len(items) > limits.MAX_CLAIM_ITEMS:
        return [
            problem(
                "too-many-items",
                "Bundle.entry[0].resource.item",
                count=len(items),
                limit=limits.MAX_CLAIM_ITEMS,
            )
        ]
    return []


def bounds_problems(raw: Any) -> list[Problem]:
    """Depth, string length and control characters of a JSON tree, walked without recursion.

    A sound tree (nearly every submission) is checked in one pass that gathers its texts and
    searches them at once; only a tree with a problem is walked again, node by node, to name
    the first problem in the order it always has (issue 12: half the cost of the checks).
    """
    texts: list[str] = []
    stack: list[tuple[Any, int]] = [(raw, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            texts.extend(node)
            children: Iterable[Any] = node.values()
        else:
            children = node
        for child in children:
            if isinstance(child, str):
                texts.append(child)
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1))
    # "\n" joins the texts: it is no forbidden character, so a match lies inside one text
    sound = (
        deepest <= limits.MAX_JSON_DEPTH
        and max(map(len, texts), default=0) <= limits.MAX_STRING_CHARS
        and CONTROL_CHARACTER.search("\n".join(texts)) is None
    )
    return [] if sound else _first_bounds_problem(raw)


def _first_bounds_problem(raw: Any) -> list[Problem]:
    """The first problem of `bounds_problems`, in walk order: depth, keys, then values."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.MAX_JSON_DEPTH:
            return [problem("json-too-deep", "Bundle", limit=limits.MAX_JSON_DEPTH)]
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict):
            found = _text_problem(node.keys())
            if found:
                return found
        if isinstance(node, dict | list):
            found = _text_problem(c for c in children if isinstance(c, str))
            if found:
                return found
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return []


def _text_problem(texts: Iterable[str]) -> list[Problem]:
    for text in texts:
        if len(text) > limits.MAX_STRING_CHARS:
            return [problem("text-too-long", "Bundle", limit=limits.MAX_STRING_CHARS)]
        bad = CONTROL_CHARACTER.search(text)
        if bad is not None:
            named = limits.describe_character(bad.group())
            return [problem("character-forbidden", "Bundle", character=named)]
    return []


def _fhir_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False)[:50]:
        path = _fhirpath(error.get("loc", ()))
        problems.append(problem("fhir-invalid", path, error=str(error.get("msg", ""))[:200]))
    return problems


def _fhirpath(loc: tuple[Any, ...]) -> str:
    path = "Bundle"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part) not in ("__root__",) and not str(part).endswith("Type"):
            path += f".{part}"
    return path


def _check_entries(raw: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if raw.get("type") != "collection":
        problems.append(problem("bundle-type", "Bundle.type", found=str(raw.get("type"))[:32]))
    entries = raw.get("entry") or []
    if not entries:
        return [*problems, problem("bundle-empty", "Bundle.entry")]
    first = (entries[0].get("resource") or {}).get("resourceType")
    if first != "Claim":
        problems.append(problem("first-entry-claim", "Bundle.entry[0].resource", found=first))
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        url = entry.get("fullUrl")
        if not url:
            problems.append(problem("fullurl-missing", f"Bundle.entry[{i}].fullUrl"))
        elif url in seen:
            problems.append(problem("fullurl-duplicate", f"Bundle.entry[{i}].fullUrl", url=url))
        else:
            seen.add(url)
    return problems


def _index_entries(raw: dict[str, Any]) -> ReferenceIndex:
    by_name: dict[str, int] = {}
    for i, entry in enumerate(raw.get("entry") or []):
        by_name[entry["fullUrl"]] = i
        resource = entry.get("resource") or {}
        if resource.get("id"):
            by_name.setdefault(f"{resource['resourceType']}/{resource['id']}", i)
    return ReferenceIndex(by_name=by_name)


def _unresolved_references(raw: dict[str, Any], index: ReferenceIndex) -> Iterator[Problem]:
    for i, entry in enumerate(raw.get("entry") or []):
        resource = entry.get("resource") or {}
        contained = {f"#{c.get('id')}" for c in resource.get("contained") or []}
        for path, reference in _references(resource, ENTRY.format(i=i)):
            if reference in contained or reference == "#":
                continue
            if index.resolve(reference) is None:
                yield problem("reference-unresolved", path, reference=reference[:200])


def _references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every Reference.reference in a JSON tree, with its FHIRPath; one pass."""
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str):
            yield f"{path}.reference", reference
        for key, value in node.items():
            if key not in ("reference", "contained") and isinstance(value, dict | list):
                yield from _references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, f"{path}[{i}]")
