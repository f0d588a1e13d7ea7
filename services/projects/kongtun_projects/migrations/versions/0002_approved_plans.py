"""approved plans replicated from PlanApproved (submissions check them locally)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approved_plans",
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("fund_code", sa.String(length=5), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("issue", sa.String(length=60), nullable=False),
        sa.Column("indicator_ids", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
    )


def downgrade() -> None:
    op.drop_table("approved_plans")
