"""Two claims of one person priced at once never both spend the same allowance."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from fhir_mappings.claim_bundle import LineSpec
from gateway.auth.tokens import AccessGrant
from gateway.claims.models import ClaimRecord
from gateway.claims.service import ClaimIntake, IntakePipeline, IntakeResult
from gateway.pricing.models import BenefitUseRecord
from gateway.pricing.service import TariffPricer
from gateway.settings import Settings
from tests.provider_registry.factories import insure, load_default_schedule
from tests.support import Hospital, claim_bytes, claim_spec

CLAIMS = 8
DENTAL_YEARLY_CAP = Decimal(900)


def _dental(n: int) -> bytes:
    return claim_bytes(
        claim_spec(
            invoice=f"C-{n}",
            lines=(LineSpec("DENT-FILLING", "Dental filling", Decimal("400"), category="13"),),
        )
    )


def _submit_all_at_once(intake: ClaimIntake, grant: AccessGrant) -> list[IntakeResult]:
    barrier = threading.Barrier(CLAIMS)
    results: list[IntakeResult] = []
    failures: list[BaseException] = []

    def submit(n: int) -> None:
        barrier.wait()
        try:
            results.append(intake.submit(grant=grant, body=_dental(n), idempotency_key=None))
        except BaseException as exc:  # reported below; a thread must not swallow it
            failures.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(CLAIMS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return results


def test_concurrent_dental_claims_never_exceed_the_yearly_cap(
    engine: Engine, settings: Settings, hospital: Hospital
) -> None:
    insure(engine)
    load_default_schedule(engine)
    intake = ClaimIntake(engine, settings, IntakePipeline(price=TariffPricer(engine)))
    grant = AccessGrant(
        client_id=hospital.client_id, hcode=hospital.hcode, scopes=frozenset({"system/Claim.c"})
    )
    results = _submit_all_at_once(intake, grant)
    assert sorted(r.status for r in results) == [201] * CLAIMS
    with Session(engine) as session:
        paid = session.exec(select(func.sum(ClaimRecord.total_benefit))).one()
        spent = session.exec(select(func.sum(BenefitUseRecord.amount))).one()
        partial = session.exec(
            select(func.count())
            .select_from(ClaimRecord)
            .where(col(ClaimRecord.outcome) == "partial")
        ).one()
    assert Decimal(paid) == DENTAL_YEARLY_CAP
    assert Decimal(spent) == DENTAL_YEARLY_CAP
    assert partial == 1  # 400 + 400 + 100: exactly one claim was cut to what was left
