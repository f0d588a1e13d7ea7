"""Use cases of the money: a fund's year, the rule set, the ledger, quarterly financial reports, the budget saga."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kongtun_common.engine import utcnow
from kongtun_common.errors import Conflict, InvalidInput, NotFound
from kongtun_common.thai import BANGKOK

from .. import domain, orm
from ..domain import Balances, Fund, LedgerEntry, RuleSet
from .base import PLACE_KEYS, _fund, _insert_missing, new_id, paginate, today

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ a fund's year


def set_fund_year(uow, code: str, fiscal_year: int, details: dict) -> dict:
    _fund(uow.session, code)
    domain.check_fiscal_year(fiscal_year, today())
    key = {"fund_code": code, "fiscal_year": fiscal_year}
    values = {"registered_population": details["registered_population"], "own_income_satang": details["own_income"]}
    if not _insert_missing(uow.session, orm.fund_years, key, values):
        uow.session.execute(
            orm.fund_years.update()
            .where(orm.fund_years.c.fund_code == code, orm.fund_years.c.fiscal_year == fiscal_year)
            .values(**values)
        )
    return fund_year(uow.session, code, fiscal_year)


def fund_year(session, code: str, fiscal_year: int) -> dict:
    """A fund's money plan for a year: NHSO allocation, the matching share required and received."""
    _fund(session, code)
    row = session.execute(
        select(orm.fund_years).where(orm.fund_years.c.fund_code == code, orm.fund_years.c.fiscal_year == fiscal_year)
    ).first()
    if row is None:
        raise NotFound("fund year", f"{code}/{fiscal_year}", field="fiscal_year")
    rules = current_rules(session)
    share = domain.required_matching(row.registered_population, row.own_income_satang, rules)
    balances = balance(session, code, fiscal_year)
    received = balances.income_by_code.get(domain.MATCHING_CODE, 0)
    return {
        "fund_code": code,
        "fiscal_year": fiscal_year,
        "registered_population": row.registered_population,
        "own_income_satang": row.own_income_satang,
        "per_capita_rate_satang": rules.per_capita_rate,
        "nhso_allocation_satang": share["allocation"],
        "matching_percent": share["percent"],
        "matching_required_satang": share["required"],
        "nhso_received_satang": balances.income_by_code.get(domain.NHSO_CODE, 0),
        "matching_received_satang": received,
        "matching_shortfall_satang": max(share["required"] - received, 0),
    }


# ------------------------------------------------------------------ rules


def current_rules(session) -> RuleSet:
    row = session.execute(select(orm.rule_sets.c.document).order_by(orm.rule_sets.c.id.desc()).limit(1)).first()
    return RuleSet.from_dict(row.document) if row else RuleSet()


def rules_out(session) -> dict:
    """The rule set in force (money keys end in _satang), and who changed it last."""
    row = session.execute(select(orm.rule_sets).order_by(orm.rule_sets.c.id.desc()).limit(1)).mappings().first()
    rules = RuleSet.from_dict(row["document"]) if row else RuleSet()
    document = rules.as_dict()
    document["per_capita_rate_satang"] = document.pop("per_capita_rate")
    document["matching_brackets"] = [
        {"up_to_satang": bracket["up_to"], "min_percent": bracket["min_percent"]}
        for bracket in document["matching_brackets"]
    ]
    return {
        **document,
        "changed_at": row["changed_at"] if row else None,
        "changed_by": row["changed_by"] if row else None,
        "defaults": row is None,
    }


def set_rules(uow, details: dict) -> dict:
    changed_by = details.pop("changed_by", "") or "admin"
    rules = RuleSet.from_dict(details)
    uow.session.execute(
        orm.rule_sets.insert().values(document=rules.as_dict(), changed_at=utcnow(), changed_by=changed_by)
    )
    return rules_out(uow.session)


# ------------------------------------------------------------------ the ledger


def balance(session, code: str, fiscal_year: int) -> Balances:
    totals = orm.ledger_totals
    rows = session.execute(
        select(totals.c.fiscal_year, totals.c.bucket, totals.c.code, totals.c.amount_satang).where(
            totals.c.fund_code == code, totals.c.fiscal_year <= fiscal_year
        )
    ).all()
    return domain.balances_from_totals(fiscal_year, [tuple(row) for row in rows])


def balance_from_entries(session, code: str, fiscal_year: int) -> Balances:
    """The same balances summed from the entries themselves (the record; used to reconcile the totals)."""
    entries, commitments = orm.ledger_entries, orm.commitments
    rows = session.execute(
        select(
            entries.c.fiscal_year,
            entries.c.kind,
            entries.c.code,
            entries.c.commitment_id,
            commitments.c.owner_kind,
            func.sum(entries.c.amount_satang),
        )
        .outerjoin(commitments, commitments.c.id == entries.c.commitment_id)
        .where(entries.c.fund_code == code, entries.c.fiscal_year <= fiscal_year)
        .group_by(
            entries.c.fiscal_year, entries.c.kind, entries.c.code, entries.c.commitment_id, commitments.c.owner_kind
        )
    ).all()
    totals = []
    for year, kind, entry_code, commitment_id, owner_kind, amount in rows:
        entry = LedgerEntry("", code, year, kind, entry_code, int(amount), date.today(), commitment_id=commitment_id)
        for bucket, bucket_code, delta in entry.deltas(owner_kind == domain.CITIZEN_GROUP):
            totals.append((year, bucket, bucket_code, delta))
    return domain.balances_from_totals(fiscal_year, totals)


def balance_out(session, code: str, fiscal_year: int) -> dict:
    fund = _fund(session, code)
    domain.check_fiscal_year(fiscal_year, today())
    balances = balance(session, code, fiscal_year)
    return _balance_view(fund, balances)


def _balance_view(fund: Fund, balances: Balances) -> dict:
    return {
        **fund.place(),
        "fiscal_year": balances.fiscal_year,
        "carried_satang": balances.carried,
        "income_satang": balances.income,
        "committed_satang": balances.committed,
        "spent_satang": balances.spent,
        "available_satang": balances.available,
        "income_by_code_satang": {str(code): amount for code, amount in sorted(balances.income_by_code.items())},
        "used_by_spending_type_satang": {str(t): balances.used_by_type(t) for t in domain.SPENDING_TYPES},
        "citizen_groups_satang": balances.citizen_groups,
    }


def _write_entry(uow, entry: LedgerEntry, citizen_group: bool = False) -> None:
    session = uow.session
    session.execute(
        orm.ledger_entries.insert().values(
            entry_id=entry.id,
            fund_code=entry.fund_code,
            fiscal_year=entry.fiscal_year,
            kind=entry.kind,
            code=entry.code,
            amount_satang=entry.amount,
            entry_date=entry.entry_date,
            description=entry.description[:500],
            project_id=entry.project_id,
            commitment_id=entry.commitment_id,
            recorded_at=utcnow(),
        )
    )
    _add_totals(session, entry.fund_code, entry.fiscal_year, entry.deltas(citizen_group))


def _add_totals(session, code: str, fiscal_year: int, deltas: list[tuple[str, int, int]]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for bucket, bucket_code, delta in deltas:
        statement = insert(orm.ledger_totals).values(
            fund_code=code, fiscal_year=fiscal_year, bucket=bucket, code=bucket_code, amount_satang=delta
        )
        statement = statement.on_conflict_do_update(
            index_elements=["fund_code", "fiscal_year", "bucket", "code"],
            set_={"amount_satang": orm.ledger_totals.c.amount_satang + statement.excluded.amount_satang},
        )
        session.execute(statement)


def record_entry(uow, code: str, details: dict) -> dict:
    """A manual ledger entry: income (40100-40400), a refund from a project (40500) or a disbursement."""
    session = uow.session
    fund = _fund(session, code, lock=True)  # one writer per fund's ledger at a time
    details = {
        **details,
        "project_id": str(details["project_id"]) if details.get("project_id") else None,
        "commitment_id": str(details["commitment_id"]) if details.get("commitment_id") else None,
    }
    entry = domain.new_entry(new_id(), fund.code, details, today())
    citizen = bool(details.get("citizen_group"))
    if entry.kind == "disbursement":
        if entry.commitment_id:
            commitment = _commitment(session, entry.commitment_id, field="commitment_id")
            problems = []
            if commitment["fund_code"] != fund.code:
                problems.append("The commitment belongs to another fund.")
            elif commitment["status"] != "open":
                problems.append(f"The commitment is {commitment['status']}.")
            elif domain.spending_code(commitment["spending_type"]) != entry.code:
                problems.append(f"The commitment is under {domain.spending_code(commitment['spending_type'])}.")
            elif commitment["fiscal_year"] != entry.fiscal_year:
                problems.append(f"The commitment is of fiscal year {commitment['fiscal_year']}.")
            if problems:
                raise InvalidInput({"commitment_id": problems})
            if entry.amount > commitment["outstanding_satang"]:
                raise InvalidInput(
                    {
                        "amount": [
                            f"More than the commitment's outstanding {commitment['outstanding_satang'] / 100:.2f} baht."
                        ]
                    }
                )
            citizen = commitment["owner_kind"] == domain.CITIZEN_GROUP
            entry = LedgerEntry(**{**entry.__dict__, "project_id": entry.project_id or commitment["project_id"]})
            session.execute(
                orm.commitments.update()
                .where(orm.commitments.c.id == commitment["id"])
                .values(outstanding_satang=commitment["outstanding_satang"] - entry.amount)
            )
        else:
            refusal = domain.commitment_refusal(
                balance(session, fund.code, entry.fiscal_year),
                current_rules(session),
                domain.spending_type_of(entry.code),
                entry.amount,
            )
            if refusal:
                raise InvalidInput({"amount": [refusal.reason]}, f"Refused: {refusal.code}.")
    _write_entry(uow, entry, citizen)
    balances = balance(session, fund.code, entry.fiscal_year)
    uow.publish(
        "LedgerEntryRecorded",
        {
            "entry_id": entry.id,
            **fund.place(),
            "fiscal_year": entry.fiscal_year,
            "kind": entry.kind,
            "code": entry.code,
            "amount_satang": entry.amount,
            "entry_date": entry.entry_date.isoformat(),
            "description": entry.description,
            "project_id": entry.project_id,
            "commitment_id": entry.commitment_id,
            "recorded_at": utcnow().isoformat(),
            "balances": balances.event_view(),
        },
        subject=fund.code,
    )
    return {**_entry_out(entry), "balances": _balance_view(fund, balances)}


def _entry_out(entry: LedgerEntry) -> dict:
    return {
        "id": entry.id,
        "fund_code": entry.fund_code,
        "fiscal_year": entry.fiscal_year,
        "kind": entry.kind,
        "code": entry.code,
        "amount_satang": entry.amount,
        "entry_date": entry.entry_date,
        "description": entry.description,
        "project_id": entry.project_id,
        "commitment_id": entry.commitment_id,
    }


def list_entries(session, code: str, filters: dict) -> dict:
    _fund(session, code)
    table = orm.ledger_entries
    statement = select(
        table.c.entry_id.label("id"),
        table.c.fund_code,
        table.c.fiscal_year,
        table.c.kind,
        table.c.code,
        table.c.amount_satang,
        table.c.entry_date,
        table.c.description,
        table.c.project_id,
        table.c.commitment_id,
    ).where(table.c.fund_code == code)
    for name in ("fiscal_year", "kind"):
        if filters.get(name) is not None:
            statement = statement.where(table.c[name] == filters[name])
    return paginate(session, statement.order_by(table.c.id), filters["page"], filters["per_page"])


def _commitment(session, commitment_id: str, field: str = "commitment_id") -> dict:
    row = session.execute(select(orm.commitments).where(orm.commitments.c.id == commitment_id)).mappings().first()
    if row is None:
        raise InvalidInput({field: [f"Commitment {commitment_id} does not exist."]})
    return dict(row)


def list_commitments(session, code: str, fiscal_year: int | None, page: int, per_page: int) -> dict:
    _fund(session, code)
    table = orm.commitments
    statement = select(table).where(table.c.fund_code == code).order_by(table.c.committed_at)
    if fiscal_year is not None:
        statement = statement.where(table.c.fiscal_year == fiscal_year)
    return paginate(session, statement, page, per_page)


def evaluate(session, code: str, fiscal_year: int, as_of: date | None = None) -> dict:
    """Every configurable check of a fund's year, as of a day (default today)."""
    fund = _fund(session, code)
    domain.check_fiscal_year(fiscal_year, today())
    as_of = as_of or today()
    rules = current_rules(session)
    balances = balance(session, code, fiscal_year)
    spent_by: dict[str, int] = {}
    entries = orm.ledger_entries
    for quarter, end in domain.quarter_ends(fiscal_year).items():
        if as_of > end:
            spent_by[quarter] = session.execute(
                select(func.coalesce(func.sum(entries.c.amount_satang), 0)).where(
                    entries.c.fund_code == code,
                    entries.c.fiscal_year == fiscal_year,
                    entries.c.kind == "disbursement",
                    entries.c.entry_date <= end,
                )
            ).scalar()
    checks = domain.evaluate(balances, rules, as_of, spent_by)
    return {
        **_balance_view(fund, balances),
        "as_of": as_of,
        "checks": [check.as_dict() for check in checks],
        "flags": [check.code for check in checks if check.flagged],
    }


# ------------------------------------------------------------------ quarterly financial reports


def quarter_figures(session, code: str, fiscal_year: int, quarter: int) -> domain.QuarterFigures:
    """The ledger's figures at the end of a quarter: the carried balance from the running totals, the year's
    income and spending up to the quarter's last day from the entries (summed per kind and day)."""
    _, end = domain.quarter_bounds(fiscal_year, quarter)
    entries = orm.ledger_entries
    rows = session.execute(
        select(entries.c.kind, entries.c.entry_date, func.sum(entries.c.amount_satang))
        .where(
            entries.c.fund_code == code,
            entries.c.fiscal_year == fiscal_year,
            entries.c.kind.in_(("income", "refund", "disbursement")),
            entries.c.entry_date <= end,
        )
        .group_by(entries.c.kind, entries.c.entry_date)
    ).all()
    carried = balance(session, code, fiscal_year).carried
    return domain.quarter_figures(
        fiscal_year, quarter, carried, [(kind, day, int(amount)) for kind, day, amount in rows]
    )


def submit_financial_report(uow, code: str, details: dict) -> dict:
    """A fund's quarterly financial report: the ledger's figures at the quarter's end, stored and locked
    (FundFinancialReportSubmitted).  A quarter not yet ended, or already reported, is refused."""
    session = uow.session
    fund = _fund(session, code, lock=True)  # as every ledger write: one writer per fund at a time
    fiscal_year, quarter = details["fiscal_year"], details["quarter"]
    domain.check_reportable_quarter(fiscal_year, quarter, today())
    submitted_by = domain.check_submitter(details["submitted_by"])
    _refuse_second_report(session, fund.code, fiscal_year, quarter)
    figures = quarter_figures(session, fund.code, fiscal_year, quarter)
    report = {
        "id": new_id(),
        "fund_code": fund.code,
        "fiscal_year": fiscal_year,
        "quarter": quarter,
        "period_start": figures.period_start,
        "period_end": figures.period_end,
        "carried_satang": figures.carried,
        "income_satang": figures.income,
        "spending_satang": figures.spending,
        "balance_satang": figures.balance,
        "submitted_by": submitted_by,
        "submitted_at": utcnow(),
    }
    try:
        session.execute(orm.financial_reports.insert().values(**report))
    except IntegrityError:  # sent at the same moment by someone else (the fund lock makes this rare)
        raise _already_sent(fund.code, fiscal_year, quarter) from None
    uow.publish(
        "FundFinancialReportSubmitted",
        {
            "report_id": report["id"],
            **fund.place(),
            "fiscal_year": fiscal_year,
            "quarter": quarter,
            "period_start": figures.period_start.isoformat(),
            "period_end": figures.period_end.isoformat(),
            "income_satang": figures.income,
            "spending_satang": figures.spending,
            "balance_satang": figures.balance,
            "submitted_by": submitted_by,
            "submitted_at": report["submitted_at"].isoformat(),
        },
        subject=fund.code,
    )
    return _report_out(fund, report)


def _refuse_second_report(session, code: str, fiscal_year: int, quarter: int) -> None:
    table = orm.financial_reports
    sent = session.execute(
        select(table.c.submitted_by, table.c.submitted_at).where(
            table.c.fund_code == code, table.c.fiscal_year == fiscal_year, table.c.quarter == quarter
        )
    ).first()
    if sent is not None:
        when = sent.submitted_at.astimezone(BANGKOK).date().isoformat()
        raise _already_sent(code, fiscal_year, quarter, f" on {when} by {sent.submitted_by}")


def _already_sent(code: str, fiscal_year: int, quarter: int, by: str = "") -> Conflict:
    return Conflict(
        f"The financial report for quarter {quarter} of fiscal year {fiscal_year} "
        f"({domain.quarter_name_th(fiscal_year, quarter)}) of fund {code} was already sent{by}; "
        "a sent report is locked.",
        "submitted",
    )


def _report_out(fund: Fund, report: dict) -> dict:
    return {
        "id": report["id"],
        **fund.place(),
        "fiscal_year": report["fiscal_year"],
        "quarter": report["quarter"],
        "title_th": f"รายงานการเงิน{domain.quarter_name_th(report['fiscal_year'], report['quarter'])}",
        "period_start": report["period_start"],
        "period_end": report["period_end"],
        "carried_satang": report["carried_satang"],
        "income_satang": report["income_satang"],
        "spending_satang": report["spending_satang"],
        "balance_satang": report["balance_satang"],
        "submitted_by": report["submitted_by"],
        "submitted_at": report["submitted_at"],
        "locked": True,
    }


def list_financial_reports(session, code: str, filters: dict) -> dict:
    fund = _fund(session, code)
    table = orm.financial_reports
    statement = select(table).where(table.c.fund_code == code)
    if filters.get("fiscal_year") is not None:
        statement = statement.where(table.c.fiscal_year == filters["fiscal_year"])
    statement = statement.order_by(table.c.fiscal_year.desc(), table.c.quarter.desc())
    return paginate(session, statement, filters["page"], filters["per_page"], lambda row: _report_out(fund, row))


# ------------------------------------------------------------------ the budget saga


def _project_view(data: dict) -> dict:
    return {
        "project_id": data["project_id"],
        "project_code": data["project_code"],
        "fiscal_year": data["fiscal_year"],
        "spending_type": data["spending_type"],
    }


def commit_budget(uow, event) -> None:
    """ProjectApproved → a commitment (BudgetCommitted), or a refusal with the reason (BudgetCommitmentRefused)."""
    session, data = uow.session, event.data
    project_id, amount = data["project_id"], data["approved_amount_satang"]
    if session.execute(select(orm.closed_projects).where(orm.closed_projects.c.project_id == project_id)).first():
        log.info("project %s was closed before its approval arrived; nothing committed", project_id)
        return
    try:
        fund = _fund(session, data["fund_code"], lock=True)
    except NotFound:
        _refuse(uow, data, None, "unknown_fund", f"ไม่พบกองทุนรหัส {data['fund_code']} ในระบบ")
        return
    existing = (
        session.execute(select(orm.commitments).where(orm.commitments.c.project_id == project_id)).mappings().first()
    )
    if existing is not None:
        if existing["status"] == "open":  # approved again while committed: say so again, change nothing
            _announce_commitment(uow, fund, dict(existing))
        return
    balances = balance(session, fund.code, data["fiscal_year"])
    refusal = domain.commitment_refusal(balances, current_rules(session), data["spending_type"], amount)
    if refusal:
        _refuse(uow, data, fund, refusal.code, refusal.reason)
        return
    commitment = {
        "id": new_id(),
        "project_id": project_id,
        "project_code": data["project_code"],
        "fund_code": fund.code,
        "fiscal_year": data["fiscal_year"],
        "spending_type": data["spending_type"],
        "owner_kind": data["owner"]["kind"],
        "amount_satang": amount,
        "outstanding_satang": amount,
        "status": "open",
        "committed_at": utcnow(),
    }
    session.execute(orm.commitments.insert().values(**commitment))
    entry = LedgerEntry(
        id=new_id(),
        fund_code=fund.code,
        fiscal_year=data["fiscal_year"],
        kind="commitment",
        code=domain.spending_code(data["spending_type"]),
        amount=amount,
        entry_date=today(),
        description=f"{data['project_code']} {data['title']}",
        project_id=project_id,
        commitment_id=commitment["id"],
    )
    _write_entry(uow, entry, commitment["owner_kind"] == domain.CITIZEN_GROUP)
    _announce_commitment(uow, fund, commitment)


def _announce_commitment(uow, fund: Fund, commitment: dict) -> None:
    balances = balance(uow.session, fund.code, commitment["fiscal_year"])
    uow.publish(
        "BudgetCommitted",
        {
            **fund.place(),
            "project_id": commitment["project_id"],
            "project_code": commitment["project_code"],
            "fiscal_year": commitment["fiscal_year"],
            "spending_type": commitment["spending_type"],
            "amount_satang": commitment["amount_satang"],
            "commitment_id": commitment["id"],
            "committed_at": commitment["committed_at"].isoformat(),
            "balances": balances.event_view(),
        },
        subject=commitment["project_id"],
    )


def _refuse(uow, data: dict, fund: Fund | None, reason_code: str, reason: str) -> None:
    place = fund.place() if fund else {key: data[key] for key in PLACE_KEYS}
    log.info("budget commitment for project %s refused: %s", data["project_id"], reason_code)
    uow.publish(
        "BudgetCommitmentRefused",
        {
            **place,
            **_project_view(data),
            "amount_satang": data["approved_amount_satang"],
            "reason_code": reason_code,
            "reason": reason,
            "refused_at": utcnow().isoformat(),
        },
        subject=data["project_id"],
    )


def release_budget(uow, event, reason: str) -> None:
    """ProjectCancelled / ProjectTerminated → the open commitment's outstanding money goes back (BudgetReleased)."""
    session, data = uow.session, event.data
    project_id = data["project_id"]
    found = (
        session.execute(select(orm.commitments).where(orm.commitments.c.project_id == project_id)).mappings().first()
    )
    if found is None:
        if data.get("approved_amount_satang") is not None:
            # It had been approved: its ProjectApproved may still be on its way; remember the project is closed.
            _insert_missing(
                session, orm.closed_projects, {"project_id": project_id}, {"reason": reason, "closed_at": utcnow()}
            )
        return
    # The fund is locked first, as by every ledger write: one lock order, no deadlock with a disbursement.
    fund = _fund(session, found["fund_code"], lock=True)
    commitment = session.execute(select(orm.commitments).where(orm.commitments.c.id == found["id"])).mappings().first()
    if commitment["status"] != "open":
        return
    outstanding, now = commitment["outstanding_satang"], utcnow()
    session.execute(
        orm.commitments.update()
        .where(orm.commitments.c.id == commitment["id"])
        .values(status="released", outstanding_satang=0, released_at=now, release_reason=reason)
    )
    if outstanding:
        entry = LedgerEntry(
            id=new_id(),
            fund_code=fund.code,
            fiscal_year=commitment["fiscal_year"],
            kind="release",
            code=domain.spending_code(commitment["spending_type"]),
            amount=outstanding,
            entry_date=today(),
            description=f"{commitment['project_code']} {reason}",
            project_id=project_id,
            commitment_id=commitment["id"],
        )
        _write_entry(uow, entry, commitment["owner_kind"] == domain.CITIZEN_GROUP)
    balances = balance(session, fund.code, commitment["fiscal_year"])
    uow.publish(
        "BudgetReleased",
        {
            **fund.place(),
            "project_id": project_id,
            "project_code": commitment["project_code"],
            "fiscal_year": commitment["fiscal_year"],
            "spending_type": commitment["spending_type"],
            "amount_satang": outstanding,
            "commitment_id": commitment["id"],
            "released_at": now.isoformat(),
            "reason": reason,
            "balances": balances.event_view(),
        },
        subject=project_id,
    )
