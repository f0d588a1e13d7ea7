"""quarterly financial reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('financial_reports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('fund_code', sa.String(length=5), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('carried_satang', sa.BigInteger(), nullable=False),
    sa.Column('income_satang', sa.BigInteger(), nullable=False),
    sa.Column('spending_satang', sa.BigInteger(), nullable=False),
    sa.Column('balance_satang', sa.BigInteger(), nullable=False),
    sa.Column('submitted_by', sa.String(length=300), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fund_code'], ['funds.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fund_code', 'fiscal_year', 'quarter', name='uq_financial_report_quarter')
    )


def downgrade() -> None:
    op.drop_table('financial_reports')
