"""data at rest: persons as keyed hashes (patient_key) instead of citizen IDs

Stored bundles, claim JSON, ClaimResponses, idempotency and notification bodies are sealed by
their column type (gateway/security/sealed.py); rows written before this revision stay readable
as plaintext until `claimgw keys rotate-data-key` seals them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
BATCH = 1000


def upgrade() -> None:
    for table in ("claims", "benefit_uses"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("patient_key", STR(length=64), nullable=True))
        _hash_people(table)
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_patient_cid_service_date")
        batch.drop_index("ix_claims_patient_cid")
        batch.drop_column("patient_cid")
        batch.alter_column("patient_key", existing_type=STR(length=64), nullable=False)
        batch.create_index("ix_claims_patient_key_service_date", ["patient_key", "service_date"])
    with op.batch_alter_table("benefit_uses") as batch:
        batch.drop_index("ix_benefit_uses_patient_cid")
        batch.drop_column("patient_cid")
        batch.alter_column("patient_key", existing_type=STR(length=64), nullable=False)
        batch.create_index("ix_benefit_uses_patient_key", ["patient_key"])
    with op.batch_alter_table("subscriptions") as batch:  # a sealed secret outgrows 100 chars
        batch.alter_column("secret", existing_type=STR(length=100), type_=sa.Text())


def _hash_people(table: str) -> None:
    """Replace each stored CID by its keyed hash (the lookup key comes from the settings)."""
    from gateway.security.data_key import person_key

    bind = op.get_bind()
    rows = sa.table(table, sa.column("id"), sa.column("patient_cid"), sa.column("patient_key"))
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c.patient_cid)
            .where(rows.c.patient_key.is_(None))
            .limit(BATCH)
        ).all()
        for row_id, cid in batch:
            bind.execute(
                rows.update().where(rows.c.id == row_id).values(patient_key=person_key(cid))
            )
        if len(batch) < BATCH:
            return


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("secret", existing_type=sa.Text(), type_=STR(length=100))
    # A keyed hash cannot be turned back into a citizen ID: downgrading empties the column.
    for table, index in (
        ("benefit_uses", "ix_benefit_uses_patient_key"),
        ("claims", "ix_claims_patient_key_service_date"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(index)
            batch.add_column(
                sa.Column("patient_cid", STR(length=13), nullable=False, server_default="")
            )
            batch.drop_column("patient_key")
    with op.batch_alter_table("claims") as batch:
        batch.create_index("ix_claims_patient_cid", ["patient_cid"])
        batch.create_index("ix_claims_patient_cid_service_date", ["patient_cid", "service_date"])
    with op.batch_alter_table("benefit_uses") as batch:
        batch.create_index("ix_benefit_uses_patient_cid", ["patient_cid"])
