"""Identifier namespaces and code systems, as in the Thai ClaimCon guide (FHIR 4.3.0 = R4B)."""

from __future__ import annotations

import re
from typing import Final

CID_SYSTEM: Final = "https://terms.sil-th.org/id/th-cid"
HCODE_SYSTEM: Final = "https://terms.sil-th.org/id/th-moph-hcode"
HOSPITAL_NAMESPACE_ROOT: Final = "https://terms.sil-th.org/hcode/5"
FEE_CATEGORY_SYSTEM: Final = "https://terms.sil-th.org/core/CodeSystem/th-fee-category"
ICD10_SYSTEM: Final = "http://hl7.org/fhir/sid/icd-10"
ICD9CM_SYSTEM: Final = "http://hl7.org/fhir/sid/icd-9-cm"
CLAIM_TYPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/claim-type"
ENCOUNTER_CLASS_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

PROJECT_BASE: Final = "https://claimgw.sso.go.th/fhir"
ADJUDICATION_REASON_SYSTEM: Final = f"{PROJECT_BASE}/CodeSystem/adjudication-reason"
VALIDATION_RULE_SYSTEM: Final = f"{PROJECT_BASE}/CodeSystem/validation-rule"
TARIFF_SYSTEM: Final = f"{PROJECT_BASE}/CodeSystem/sso-tariff"
CLAIM_ID_SYSTEM: Final = f"{PROJECT_BASE}/id/claim"

CURRENCY: Final = "THB"

_HCODE = re.compile(r"^(\d{5}|\d{9})$")


def hospital_namespace(hcode: str, kind: str) -> str:
    """The namespace of a hospital's own numbers: HN, VN, AN or Inv."""
    return f"{HOSPITAL_NAMESPACE_ROOT}/{hcode}/{kind}"


def invoice_system(hcode: str) -> str:
    """The Claim.identifier (invoice number) namespace of a hospital."""
    return hospital_namespace(hcode, "Inv")


def is_valid_hcode(value: str) -> bool:
    """A MOPH hospital code has 5 digits (9 digits also occur)."""
    return bool(_HCODE.match(value))


DRG_EXTENSION: Final = f"{PROJECT_BASE}/StructureDefinition/claim-drg"
"""Complex extension on Claim: `drg` (valueCode), `rw` and `adjrw` (valueDecimal)."""
