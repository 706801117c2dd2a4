"""The synthetic generator's claim bundles as NDJSON lines, byte for byte `build_claim_bundle`'s.

`claimgw synth` writes a million bundles. Through `build_claim_bundle` and `orjson.dumps` most
of the time went on `uuid.uuid5` (seven per claim, through `uuid.UUID` objects), on building
the same dicts again for every claim and on formatting the same prices and timestamps again.
Here the name-based UUIDs come straight from SHA-1 (RFC 4122 section 4.3, as `uuid.uuid5`
does), and the JSON text of whatever repeats (a hospital, a billed line) is made once and
reused. Every value is put into JSON by `orjson` itself, so the text is orjson's. The builder
covers what the generator uses (no procedures, related claims or referrals); a test holds its
output equal to `orjson.dumps(build_claim_bundle(...))`, so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

import orjson

from fhir_mappings import systems
from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import ENCOUNTER_CLASS, ClaimSpec, LineSpec

_PARTS = (b"claim", b"patient", b"org", b"coverage", b"encounter")
# The RFC 4122 variant bits (10xx) set in the first hex digit of the fourth group.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _json(value: str | float) -> str:
    """One value as orjson writes it (escaping, float digits)."""
    return orjson.dumps(value).decode()


_CURRENCY = _json(systems.CURRENCY)
_CLAIM_TYPE = _json(systems.CLAIM_TYPE_SYSTEM)
_PRIORITY = _json("http://terminology.hl7.org/CodeSystem/processpriority")
_SCHEME = _json(f"{systems.PROJECT_BASE}/CodeSystem/scheme")
_ENCOUNTER_CLASS = _json(systems.ENCOUNTER_CLASS_SYSTEM)
_CID = _json(systems.CID_SYSTEM)
_ICD10 = _json(systems.ICD10_SYSTEM)
_DRG = _json(systems.DRG_EXTENSION)
_FEE_CATEGORY = _json(systems.FEE_CATEGORY_SYSTEM)


def uuid5_bytes(namespace: bytes, name: str) -> bytes:
    """`uuid.uuid5(UUID(bytes=namespace), name).bytes`, without building UUID objects."""
    digest = bytearray(hashlib.sha1(namespace + name.encode()).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return bytes(digest[:16])


def uuid5_urn(namespace: bytes, name: bytes) -> str:
    """`f"urn:uuid:{uuid.uuid5(UUID(bytes=namespace), name)}"`, from the SHA-1 hex digits."""
    h = hashlib.sha1(namespace + name).hexdigest()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class _Refs(NamedTuple):
    """The full URLs a bundle's resources are known by."""

    claim: str
    patient: str
    org: str
    coverage: str
    encounter: str
    conditions: tuple[str, ...]


def _refs(seed: bytes, conditions: int) -> _Refs:
    claim, patient, org, coverage, encounter = [uuid5_urn(seed, part) for part in _PARTS]
    more = tuple(uuid5_urn(seed, f"condition-{i}".encode()) for i in range(conditions))
    return _Refs(claim, patient, org, coverage, encounter, more)


def synth_bundle_line(spec: ClaimSpec, invoice: str, seed: bytes) -> bytes:
    """`orjson.dumps(build_claim_bundle(spec'))` and a newline, where spec' is `spec` with
    `invoice` and `seed_uuid=str(UUID(bytes=seed))`."""
    if spec.procedures or spec.related_invoice or spec.referral:
        raise ValueError("the synthetic bundle builder has no procedures, related or referral")
    refs = _refs(seed, len(spec.diagnoses))
    start, end = spec.start.isoformat(), spec.end.isoformat()
    entries = [
        (refs.claim, _claim(spec, invoice, refs, start, end)),
        (refs.patient, _patient(spec)),
        (refs.org, _hospital(spec.hcode, spec.hospital_name)[1]),
        (refs.coverage, _coverage(refs.patient)),
        (refs.encounter, _encounter(spec, refs, start, end)),
        *[
            (url, _condition(code, refs.patient))
            for url, code in zip(refs.conditions, spec.diagnoses, strict=True)
        ],
    ]
    body = ",".join(f'{{"fullUrl":"{url}","resource":{text}}}' for url, text in entries)
    return f'{{"resourceType":"Bundle","type":"collection","entry":[{body}]}}\n'.encode()


@lru_cache(maxsize=256)
def _hospital(hcode: str, name: str) -> tuple[str, str]:
    """A hospital's invoice namespace and its Organization resource, as JSON."""
    organization = (
        f'{{"resourceType":"Organization","identifier":[{{"system":'
        f'{_json(systems.HCODE_SYSTEM)},"value":{_json(hcode)}}}],"name":{_json(name)}}}'
    )
    return _json(systems.invoice_system(hcode)), organization


@dataclass(frozen=True, slots=True)
class _LineText:
    """A billed line's JSON around the parts that vary by claim (sequence, day, encounter)."""

    head: str
    middle: str
    tail: str
    net: Decimal


@lru_cache(maxsize=4096)
def _line_text(line: LineSpec) -> _LineText:
    # Lines repeat (the generator prices each hospital's code once); inflated ones do not,
    # which is why the cache is bounded.
    net = line.net
    coding = (
        f'{{"system":{_json(line.system)},"code":{_json(line.code)},'
        f'"display":{_json(line.display)}}}'
    )
    money = f'"currency":{_CURRENCY}'
    middle = (
        f',"quantity":{{"value":{_json(float(line.quantity))}}},'
        f'"unitPrice":{{"value":{_json(float(line.unit_price))},{money}}},'
        f'"net":{{"value":{_json(float(net))},{money}}},"encounter":[{{"reference":'
    )
    category = (
        f',"category":{{"coding":[{{"system":{_FEE_CATEGORY},"code":{_json(line.category)}}}]}}'
        if line.category
        else ""
    )
    return _LineText(
        f',"productOrService":{{"coding":[{coding}]}},"servicedDate":',
        middle,
        f"}}]{category}}}",
        net,
    )


def _claim(spec: ClaimSpec, invoice: str, refs: _Refs, start: str, end: str) -> str:
    invoice_system = _hospital(spec.hcode, spec.hospital_name)[0]
    kind = "institutional" if spec.setting is CareSetting.IPD else "professional"
    priority = "stat" if spec.setting is CareSetting.EMERGENCY else "normal"
    texts = [_line_text(line) for line in spec.lines]
    return (
        f'{{"resourceType":"Claim","identifier":[{{"system":{invoice_system},'
        f'"value":{_json(invoice)}}}],"status":"active",'
        f'"type":{{"coding":[{{"system":{_CLAIM_TYPE},"code":"{kind}"}}]}},"use":"claim",'
        f'"patient":{{"reference":"{refs.patient}"}},'
        f'"billablePeriod":{{"start":"{start}","end":"{end}"}},"created":"{end}",'
        f'"provider":{{"reference":"{refs.org}"}},'
        f'"priority":{{"coding":[{{"system":{_PRIORITY},"code":"{priority}"}}]}},'
        f'"insurance":[{{"sequence":1,"focal":true,"coverage":{{"reference":"{refs.coverage}"}}}}],'
        f'"item":[{_items(spec, texts, refs.encounter)}],'
        f'"total":{{"value":{_json(float(sum((t.net for t in texts), Decimal(0))))},'
        f'"currency":{_CURRENCY}}}{_diagnoses(refs.conditions)}{_drg(spec.drg)}}}'
    )


def _items(spec: ClaimSpec, texts: list[_LineText], encounter: str) -> str:
    day = _json(spec.start.date().isoformat())
    return ",".join(
        f'{{"sequence":{i}{text.head}'
        f"{_json(line.serviced.isoformat()) if line.serviced else day}"
        f'{text.middle}"{encounter}"{text.tail}'
        for i, (line, text) in enumerate(zip(spec.lines, texts, strict=True), start=1)
    )


def _diagnoses(conditions: tuple[str, ...]) -> str:
    if not conditions:
        return ""
    listed = ",".join(
        f'{{"sequence":{i},"diagnosisReference":{{"reference":"{url}"}}}}'
        for i, url in enumerate(conditions, start=1)
    )
    return f',"diagnosis":[{listed}]'


def _drg(drg: tuple[str, Decimal, Decimal] | None) -> str:
    if not drg:
        return ""
    code, rw, adj_rw = drg
    return (
        f',"extension":[{{"url":{_DRG},"extension":[{{"url":"drg","valueCode":{_json(code)}}},'
        f'{{"url":"rw","valueDecimal":{_json(float(rw))}}},'
        f'{{"url":"adjrw","valueDecimal":{_json(float(adj_rw))}}}]}}]'
    )


def _patient(spec: ClaimSpec) -> str:
    return (
        f'{{"resourceType":"Patient","identifier":[{{"system":{_CID},"value":{_json(spec.cid)}}}],'
        f'"gender":{_json(spec.sex)},"birthDate":"{spec.birth_date.isoformat()}"}}'
    )


def _coverage(patient: str) -> str:
    return (
        f'{{"resourceType":"Coverage","status":"active","beneficiary":{{"reference":"{patient}"}},'
        f'"payor":[{{"display":"Social Security Office"}}],'
        f'"type":{{"coding":[{{"system":{_SCHEME},"code":"SSS"}}]}}}}'
    )


def _encounter(spec: ClaimSpec, refs: _Refs, start: str, end: str) -> str:
    return (
        f'{{"resourceType":"Encounter","status":"finished",'
        f'"class":{{"system":{_ENCOUNTER_CLASS},"code":{_json(ENCOUNTER_CLASS[spec.setting])}}},'
        f'"subject":{{"reference":"{refs.patient}"}},'
        f'"serviceProvider":{{"reference":"{refs.org}"}},'
        f'"period":{{"start":"{start}","end":"{end}"}}}}'
    )


def _condition(code: str, patient: str) -> str:
    return (
        f'{{"resourceType":"Condition","code":{{"coding":[{{"system":{_ICD10},'
        f'"code":{_json(code)}}}]}},"subject":{{"reference":"{patient}"}}}}'
    )
