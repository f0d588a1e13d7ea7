"""fund duties, fund money, mentor assignments; event history in arrival order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AREA = (
    ("subdistrict", sa.String(length=300)),
    ("district", sa.String(length=300)),
    ("province", sa.String(length=300)),
)


def _area():
    return [sa.Column(name, kind, nullable=False) for name, kind in AREA] + [
        sa.Column("region", sa.Integer(), nullable=False)
    ]


def upgrade() -> None:
    op.create_table(
        "fund_obligations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("fund_code", sa.String(length=5), nullable=False),
        sa.Column("fund_name", sa.String(length=300), nullable=False),
        *_area(),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=40), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("notices_sent", sa.String(length=100), nullable=False),
        sa.Column("overdue_notices_sent", sa.String(length=100), nullable=False),
        sa.Column("last_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fund_obligations", schema=None) as batch_op:
        batch_op.create_index("ix_fund_obligations_fund_code", ["fund_code"], unique=False)
        batch_op.create_index("ix_fund_obligations_due_date", ["due_date"], unique=False)
        batch_op.create_index("ix_fund_obligations_fund_year", ["fund_code", "fiscal_year"], unique=False)

    op.create_table(
        "fund_money",
        sa.Column("fund_code", sa.String(length=5), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("fund_name", sa.String(length=300), nullable=False),
        *_area(),
        *[
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in ("income", "committed", "spent_q1", "spent_q2", "spent_q3", "spent_q4", "spent_q5")
        ],
        sa.PrimaryKeyConstraint("fund_code", "fiscal_year"),
    )
    with op.batch_alter_table("fund_money", schema=None) as batch_op:
        batch_op.create_index("ix_fund_money_province_year", ["province", "fiscal_year"], unique=False)

    with op.batch_alter_table("event_history", schema=None) as batch_op:
        batch_op.create_index("ix_event_history_received", ["received_at", "event_id"], unique=False)

    op.create_table(
        "mentor_assignments",
        sa.Column("mentor_id", sa.String(length=36), nullable=False),
        sa.Column("fund_code", sa.String(length=5), nullable=False),
        sa.Column("mentor_name", sa.String(length=300), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("fund_name", sa.String(length=300), nullable=False),
        *_area(),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mentor_id", "fund_code"),
    )


def downgrade() -> None:
    op.drop_table("mentor_assignments")
    with op.batch_alter_table("event_history", schema=None) as batch_op:
        batch_op.drop_index("ix_event_history_received")
    with op.batch_alter_table("fund_money", schema=None) as batch_op:
        batch_op.drop_index("ix_fund_money_province_year")
    op.drop_table("fund_money")
    with op.batch_alter_table("fund_obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_fund_obligations_fund_year")
        batch_op.drop_index("ix_fund_obligations_due_date")
        batch_op.drop_index("ix_fund_obligations_fund_code")
    op.drop_table("fund_obligations")
