"""Demo hospitals seeded by `claimgw demo` (HCODEs are examples, not contracts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoHospital:
    """A hospital the demo registers, with a fixed client id for the README."""

    hcode: str
    name: str
    contract_type: str
    province: str

    @property
    def client_id(self) -> str:
        return f"demo-{self.hcode}"


DEMO_HOSPITALS = (
    DemoHospital(
        "10661", "Demo Provincial Hospital (โรงพยาบาลสาธิตประจำจังหวัด)", "main", "Nakhon Pathom"
    ),
    DemoHospital("11512", "Demo Private Hospital (โรงพยาบาลเอกชนสาธิต)", "main", "Bangkok"),
    DemoHospital("23760", "Demo Network Clinic (คลินิกเครือข่ายสาธิต)", "network", "Bangkok"),
)
