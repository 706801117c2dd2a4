"""The tariff CSV: every SSO-FACTS benefit ships with its source; bad rows are reported."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings.tariff import (
    TARIFF_COLUMNS,
    default_mapping_text,
    default_parameters,
    default_schedule_text,
    parse_mapping_csv,
    parse_tariff_csv,
)

HEADER = ",".join(TARIFF_COLUMNS)
GOOD = "X-1,ไทย,English,16,100,item,,,,,,33;39,OPD,2026-01-01,,a source,M,false"


def test_default_schedule_parses_and_every_row_has_a_source() -> None:
    items, errors = parse_tariff_csv(default_schedule_text())
    assert errors == []
    assert all(item.source for item in items)


@pytest.mark.parametrize(
    "code",
    [
        "DENT-SCALING",
        "DENT-FILLING",
        "DENT-EXTRACT",
        "DENT-SURGERY",
        "DENT-DENTURE-PARTIAL-1-5",
        "DENT-DENTURE-PARTIAL-6PLUS",
        "DENT-DENTURE-COMPLETE-ONE",
        "DENT-DENTURE-COMPLETE-BOTH",
        "BIRTH-LUMPSUM",
        "PRENATAL-VISIT",
        "DIALYSIS-HD",
        "PD-MONTH",
        "EMER-NC-OPD",
        "EMER-NC-IPD-DAY",
        "EMER-NC-ICU-DAY",
        "EMER-NC-SURG-MAJOR",
        "EMER-PUB-ROOM-DAY",
        "UCEP-CRITICAL",
        "DRG-BASE-RATE",
    ],
)
def test_every_sso_facts_benefit_is_in_the_default_schedule(code: str) -> None:
    items, _ = parse_tariff_csv(default_schedule_text())
    assert any(i.code == code and not (i.illustrative and code != "DRG-BASE-RATE") for i in items)


@pytest.mark.parametrize(
    "code",
    [
        "OPD-VISIT",
        "LAB-CBC",
        "LAB-FBS",
        "DRUG-PARA",
        "DRUG-AMOX",
        "XRAY-CHEST",
        "IPD-ROOM",
        "IPD-NURSE",
        "DRUG-CEF",
    ],
)
def test_common_items_the_generator_bills_are_labelled_illustrative(code: str) -> None:
    items, _ = parse_tariff_csv(default_schedule_text())
    assert [i.illustrative for i in items if i.code == code] == [True]
    assert all("ILLUSTRATIVE" in i.source for i in items if i.code == code)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("X-1,ไทย,English,16,abc,item,,,,,,33,OPD,2026-01-01,,s,M,false", "price is not a number"),
        (
            "X-1,ไทย,English,16,-5,item,,,,,,33,OPD,2026-01-01,,s,M,false",
            "price must be a non-negative number",
        ),
        ("X-1,ไทย,English,16,5,bag,,,,,,33,OPD,2026-01-01,,s,M,false", "unit must be one of"),
        ("X-1,ไทย,English,16,5,item,,,,,,41,OPD,2026-01-01,,s,M,false", "sections must be some of"),
        (
            "X-1,ไทย,English,16,5,item,,,,,,33,WARD,2026-01-01,,s,M,false",
            "settings must be some of",
        ),
        ("X-1,ไทย,English,16,5,item,,,,,,33,OPD,2026-13-01,,s,M,false", "dates must be ISO 8601"),
        (
            "X-1,ไทย,English,16,5,item,,,,,,33,OPD,2026-02-01,2026-01-01,s,M,false",
            "valid_to is before",
        ),
        (
            "X-1,ไทย,English,16,5,item,100,,fortnight,,,33,OPD,2026-01-01,,s,M,false",
            "limit is unreadable",
        ),
        (",ไทย,English,16,5,item,,,,,,33,OPD,2026-01-01,,s,M,false", "code is empty"),
        ("X-1,ไทย,English,16,5,item,,,,,,33,OPD,2026-01-01,,,M,false", "source is empty"),
    ],
)
def test_bad_rows_are_reported_with_row_number_and_the_rest_imported(row: str, reason: str) -> None:
    items, errors = parse_tariff_csv("\n".join([HEADER, GOOD, row, GOOD.replace("X-1", "X-2")]))
    assert [i.code for i in items] == ["X-1", "X-2"]
    assert [e.row for e in errors] == [2]
    assert errors[0].reason.startswith(reason)


def test_missing_columns_are_one_error() -> None:
    items, errors = parse_tariff_csv("code,price\nX,1\n")
    assert items == []
    assert errors[0].row == 0
    assert "name_th" in errors[0].reason


def test_demo_mappings_parse() -> None:
    mappings, errors = parse_mapping_csv(default_mapping_text())
    assert errors == []
    assert {m.hcode for m in mappings} == {"10661", "11512", "23760"}


def test_parameters_are_effective_dated_data() -> None:
    assert default_parameters().on("min_contribution_months", date(2026, 1, 1)) == 3
    assert default_parameters().on("emergency_window_hours", date(2026, 1, 1)) == 72
