"""Between stored rows and the pure tariff types of fhir_mappings."""

from __future__ import annotations

from fhir_mappings.claim import CareSetting, SubmittedClaim
from fhir_mappings.pricing import BenefitUse
from fhir_mappings.tariff import (
    BenefitParameter,
    LimitPeriod,
    TariffItem,
    TariffLimit,
    TariffMapping,
)
from gateway.pricing.models import (
    BenefitParameterRecord,
    BenefitUseRecord,
    TariffItemRecord,
    TariffMappingRecord,
)
from gateway.security.data_key import person_key


def item_from_record(record: TariffItemRecord) -> TariffItem:
    """The pure tariff item of a stored row."""
    return TariffItem(
        code=record.code,
        name_th=record.name_th,
        name_en=record.name_en,
        fee_category=record.fee_category,
        price=record.price,
        unit=record.unit,
        sections=frozenset(int(s) for s in record.sections.split(";") if s),
        settings=frozenset(CareSetting(s) for s in record.settings.split(";") if s),
        valid_from=record.valid_from,
        valid_to=record.valid_to,
        source=record.source,
        confidence=record.confidence,
        illustrative=record.illustrative,
        limit=_limit(record),
    )


def _limit(record: TariffItemRecord) -> TariffLimit | None:
    if record.limit_period is None or (record.limit_amount is None and record.limit_count is None):
        return None
    return TariffLimit(
        group=record.limit_group or record.code,
        period=LimitPeriod(record.limit_period),
        period_n=record.limit_period_n,
        amount=record.limit_amount,
        count=record.limit_count,
    )


def record_values(item: TariffItem) -> dict[str, object]:
    """The column values of a tariff item, for insert or update."""
    limit = item.limit
    return {
        "code": item.code,
        "name_th": item.name_th,
        "name_en": item.name_en,
        "fee_category": item.fee_category,
        "price": item.price,
        "unit": item.unit,
        "limit_amount": limit.amount if limit else None,
        "limit_count": limit.count if limit else None,
        "limit_period": limit.period.value if limit else None,
        "limit_period_n": limit.period_n if limit else 1,
        "limit_group": limit.group if limit else None,
        "sections": ";".join(str(s) for s in sorted(item.sections)),
        "settings": ";".join(sorted(s.value for s in item.settings)),
        "valid_from": item.valid_from,
        "valid_to": item.valid_to,
        "source": item.source,
        "confidence": item.confidence,
        "illustrative": item.illustrative,
    }


def mapping_values(mapping: TariffMapping) -> dict[str, object]:
    """The column values of a stored mapping."""
    return {
        "hcode": mapping.hcode,
        "local_system": mapping.local_system,
        "local_code": mapping.local_code,
        "tariff_code": mapping.tariff_code,
        "valid_from": mapping.valid_from,
        "valid_to": mapping.valid_to,
        "source": mapping.source,
    }


def mapping_from_record(record: TariffMappingRecord) -> TariffMapping:
    """The pure mapping of a stored row."""
    return TariffMapping(
        hcode=record.hcode,
        local_system=record.local_system,
        local_code=record.local_code,
        tariff_code=record.tariff_code,
        valid_from=record.valid_from,
        valid_to=record.valid_to,
        source=record.source,
    )


def use_record(claim: SubmittedClaim, use: BenefitUse) -> BenefitUseRecord:
    """A stored benefit use of the claim being priced."""
    return BenefitUseRecord(
        patient_key=person_key(claim.patient_cid),
        hcode=claim.provider_hcode,
        identifier_system=claim.identifier.system,
        identifier_value=claim.identifier.value,
        limit_group=use.group,
        tariff_code=use.tariff_code,
        service_date=use.service_date,
        amount=use.amount,
        count=use.count,
        encounter_key=use.encounter or None,
    )


def parameter_values(parameter: BenefitParameter) -> dict[str, object]:
    """The column values of a stored benefit parameter."""
    return {
        "name": parameter.name,
        "value": parameter.value,
        "valid_from": parameter.valid_from,
        "valid_to": parameter.valid_to,
        "source": parameter.source,
        "confidence": parameter.confidence,
    }


def parameter_from_record(record: BenefitParameterRecord) -> BenefitParameter:
    """The pure benefit parameter of a stored row."""
    return BenefitParameter(
        name=record.name,
        value=record.value,
        valid_from=record.valid_from,
        valid_to=record.valid_to,
        source=record.source,
        confidence=record.confidence,
    )
