"""Reference prices, DRG norms and code facts the generator bills and the features compare with.

These are the fraud engine's own reference values (an approximation of the SSO tariff, see
docs/fraud.md), not the payment tariff: pricing stays with the tariff engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ReferenceItem:
    """A billable item with its reference unit price and Thai fee category."""

    code: str
    display: str
    price: float
    category: str


@dataclass(frozen=True, slots=True)
class DrgNorm:
    """A Thai DRG with its relative weight and expected length of stay (WTLOS, days)."""

    drg: str
    rw: float
    wtlos: float
    description: str
    diagnosis: str


def _items(*rows: tuple[str, str, float, str]) -> dict[str, ReferenceItem]:
    return {code: ReferenceItem(code, display, price, cat) for code, display, price, cat in rows}


ITEMS: Final = _items(
    ("OPD-VISIT", "Outpatient consultation", 150.0, "12"),
    ("LAB-CBC", "Complete blood count (TMLT 30101)", 90.0, "07"),
    ("LAB-FBS", "Fasting blood sugar (TMLT 32203)", 40.0, "07"),
    ("LAB-HBA1C", "Haemoglobin A1c (TMLT 32401)", 150.0, "07"),
    ("LAB-HB", "Haemoglobin (CBC component)", 40.0, "07"),
    ("LAB-HCT", "Haematocrit (CBC component)", 40.0, "07"),
    ("LAB-WBC", "White cell count (CBC component)", 40.0, "07"),
    ("LAB-PLT", "Platelet count (CBC component)", 40.0, "07"),
    ("DRUG-PARA", "Paracetamol 500 mg tablet (TMT)", 1.5, "03"),
    ("DRUG-AMOX", "Amoxicillin 500 mg capsule (TMT)", 3.0, "03"),
    ("DRUG-METF", "Metformin 500 mg tablet (TMT)", 2.0, "03"),
    ("DRUG-INHALER", "Salbutamol inhaler 100 mcg (TMT)", 180.0, "03"),
    ("XRAY-CHEST", "Chest X-ray", 200.0, "08"),
    ("IPD-ROOM", "Ward room and board, per day", 700.0, "01"),
    ("IPD-NURSE", "Nursing care, per day", 300.0, "12"),
    ("DRUG-CEF", "Ceftriaxone 1 g injection (TMT)", 60.0, "03"),
    ("DENT-SCALING", "Dental scaling", 300.0, "13"),
    ("DENT-FILLING", "Dental filling, per tooth", 350.0, "13"),
    ("DENT-EXTRACT", "Tooth extraction", 250.0, "13"),
    ("DIALYSIS-HD", "Haemodialysis session", 1500.0, "11"),
    ("BIRTH-LUMPSUM", "Childbirth lump sum", 15000.0, "12"),
    ("PRENATAL-VISIT", "Prenatal care visit", 300.0, "12"),
    ("ER-OPD", "Emergency outpatient care", 700.0, "12"),
)

DRGS: Final = {
    d.drg: d
    for d in (
        DrgNorm("04102", 1.2, 4.0, "Simple pneumonia", "J18.9"),
        DrgNorm("06052", 0.9, 3.0, "Appendectomy", "K35.8"),
        DrgNorm("11602", 0.8, 3.0, "Urinary tract infection", "N39.0"),
        DrgNorm("01012", 1.8, 6.0, "Stroke", "I63.9"),
        DrgNorm("14502", 0.55, 2.0, "Vaginal delivery", "O80"),
        DrgNorm("14022", 1.0, 3.0, "Caesarean delivery", "O82"),
    )
}

CHILDBIRTH_CODES: Final = frozenset({"BIRTH-LUMPSUM", "PRENATAL-VISIT"})
CHILDBIRTH_DRG_PREFIX: Final = "14"
CHILDBEARING_AGES: Final = (12, 55)


def reference_price(code: str) -> float | None:
    """The reference unit price of an item, or None for a code the engine does not know."""
    item = ITEMS.get(code)
    return item.price if item else None
