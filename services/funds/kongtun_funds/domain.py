"""The funds service's domain: plain Python, no framework.

A fund (กปท.) and what surrounds it: geography, the local government that runs it,
people, programmes and agreements, annual plans, and the budget ledger with the
rules a fund is held to.  Money is integer satang everywhere; fiscal years are B.E.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from kongtun_common.errors import Conflict, InvalidInput
from kongtun_common.thai import fiscal_year_be, format_baht

FUND_CODE = re.compile(r"^L[0-9]{4}$")
FIRST_FISCAL_YEAR = 2549  # the local health security funds started in FY 2549 (2006)
BE_OFFSET = 543

# NHSO regional offices (สปสช. เขต 1-13), named after the city of the office.
REGIONS: dict[int, tuple[str, str]] = {
    1: ("เชียงใหม่", "Chiang Mai"),
    2: ("พิษณุโลก", "Phitsanulok"),
    3: ("นครสวรรค์", "Nakhon Sawan"),
    4: ("สระบุรี", "Saraburi"),
    5: ("ราชบุรี", "Ratchaburi"),
    6: ("ระยอง", "Rayong"),
    7: ("ขอนแก่น", "Khon Kaen"),
    8: ("อุดรธานี", "Udon Thani"),
    9: ("นครราชสีมา", "Nakhon Ratchasima"),
    10: ("อุบลราชธานี", "Ubon Ratchathani"),
    11: ("สุราษฎร์ธานี", "Surat Thani"),
    12: ("สงขลา", "Songkhla"),
    13: ("กรุงเทพมหานคร", "Bangkok"),
}

# Kinds of local government (อปท.) and their Thai abbreviations.
LAO_KINDS: dict[str, str] = {
    "sao": "อบต.",
    "subdistrict_municipality": "เทศบาลตำบล",
    "town_municipality": "เทศบาลเมือง",
    "city_municipality": "เทศบาลนคร",
    "pao": "อบจ.",
}

PROGRAMME_KINDS = (
    "district_integration",  # seed 000: a district integration programme with its funds
    "provincial_virtual_fund",  # seed 001: Phuket's virtual provincial fund
    "provincial_integration",  # seed 001: Surat Thani's integration mechanism (5 อ.)
    "network_hub",  # seed 002: a hub local government with its member local governments
    "other",
)

PERSON_ROLES = ("committee_member", "officer")
MENTOR_LEVELS = ("provincial", "fund")
DISTRICT_COMMITTEE_ROLES = ("chair", "member", "secretary")

# ------------------------------------------------------------------ fiscal years


def fiscal_year_bounds(fiscal_year: int) -> tuple[date, date]:
    """FY 2567 runs 2023-10-01 .. 2024-09-30."""
    year = fiscal_year - BE_OFFSET
    return date(year - 1, 10, 1), date(year, 9, 30)


def plan_approval_deadline(fiscal_year: int) -> date:
    """The committee should approve the annual plan by 31 December of the fiscal year."""
    return date(fiscal_year - BE_OFFSET - 1, 12, 31)


def quarter_ends(fiscal_year: int) -> dict[str, date]:
    year = fiscal_year - BE_OFFSET
    return {"q1": date(year - 1, 12, 31), "q2": date(year, 3, 31), "q3": date(year, 6, 30), "q4": date(year, 9, 30)}


QUARTERS = (1, 2, 3, 4)


def quarter_bounds(fiscal_year: int, quarter: int) -> tuple[date, date]:
    """Quarter 1 of FY 2567 is 2023-10-01 .. 2023-12-31, quarter 2 2024-01-01 .. 2024-03-31, and so on."""
    if quarter not in QUARTERS:
        raise InvalidInput({"quarter": ["Must be a quarter of the fiscal year: 1 (October-December) to 4."]})
    year = fiscal_year - BE_OFFSET
    return {
        1: (date(year - 1, 10, 1), date(year - 1, 12, 31)),
        2: (date(year, 1, 1), date(year, 3, 31)),
        3: (date(year, 4, 1), date(year, 6, 30)),
        4: (date(year, 7, 1), date(year, 9, 30)),
    }[quarter]


def quarter_name_th(fiscal_year: int, quarter: int) -> str:
    return f"ไตรมาสที่ {quarter} ปีงบประมาณ {fiscal_year}"


def check_fiscal_year(fiscal_year: int, today: date, field_name: str = "fiscal_year") -> int:
    """A fiscal year the funds can have: from FY 2549 (when they started) to next year."""
    latest = fiscal_year_be(today) + 1
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int):
        raise InvalidInput({field_name: ["Must be a fiscal year in the Buddhist Era, e.g. 2567."]})
    if not FIRST_FISCAL_YEAR <= fiscal_year <= latest:
        raise InvalidInput(
            {field_name: [f"Must be a fiscal year (B.E.) from {FIRST_FISCAL_YEAR} to {latest}, e.g. 2567."]}
        )
    return fiscal_year


# ------------------------------------------------------------------ geography and funds


def lao_id(province: str, district: str, name_th: str) -> str:
    """A stable id for a local government: the same names give the same id on every import."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kongtun:lao:{province}|{district}|{name_th}"))


@dataclass(frozen=True)
class Fund:
    """A local health security fund (กปท.), run by one local government."""

    code: str
    name_th: str
    name_en: str | None
    subdistrict: str
    district: str
    province: str
    region: int
    registered_at: datetime
    address: str | None = None
    lao_id: str | None = None

    def registered_event(self) -> dict:
        return {
            "fund_code": self.code,
            "name_th": self.name_th,
            "name_en": self.name_en,
            "subdistrict": self.subdistrict,
            "district": self.district,
            "province": self.province,
            "region": self.region,
            "registered_at": self.registered_at.isoformat(),
        }

    def place(self) -> dict:
        """The fund and where it is, as every event of the funds service carries it."""
        return {
            "fund_code": self.code,
            "fund_name": self.name_th,
            "subdistrict": self.subdistrict,
            "district": self.district,
            "province": self.province,
            "region": self.region,
        }

    def same_registration(self, other: Fund) -> bool:
        """Whether two registrations describe the same fund (ignoring when each was made)."""
        return replace(self, registered_at=other.registered_at) == other


def register_fund(details: dict, deployment_region: int, now: datetime) -> Fund:
    """A new fund of this deployment's region; refuses a fund of another region."""
    region = details.get("region") or deployment_region
    if region != deployment_region:
        raise InvalidInput({"region": [f"This deployment serves NHSO region {deployment_region}, not {region}."]})
    if not FUND_CODE.match(details["code"]):
        raise InvalidInput({"code": ["Must be L followed by four digits, e.g. L3363."]})
    lao = details.get("lao")
    return Fund(
        code=details["code"],
        name_th=details["name_th"],
        name_en=details.get("name_en"),
        subdistrict=details["subdistrict"],
        district=details["district"],
        province=details["province"],
        region=region,
        registered_at=now,
        address=details.get("address") or None,
        lao_id=lao_id(details["province"], details["district"], lao["name_th"]) if lao else None,
    )


# ------------------------------------------------------------------ people


def term_expired(term_end: date | None, today: date) -> bool:
    return term_end is not None and term_end < today


def check_term(term_start: date | None, term_end: date | None) -> None:
    if term_start and term_end and term_end < term_start:
        raise InvalidInput({"term_end": ["Must not be before term_start."]})


def check_district_committee(members: list[dict]) -> None:
    secretaries = [member for member in members if member["role"] == "secretary"]
    if len(secretaries) != 1:
        raise InvalidInput({"members": ["A district committee has exactly one secretary (role secretary)."]})


# ------------------------------------------------------------------ programmes and plans


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    unit: str
    baseline: str  # a decimal number as text, in the unit
    target: str


@dataclass(frozen=True)
class Plan:
    id: str
    fund_code: str
    programme_id: str
    issue: str
    fiscal_year: int
    situation: str
    objectives: list[str]
    indicators: list[Indicator]
    status: str = "draft"
    approved_on: date | None = None
    approved_by: str | None = None
    meeting_ref: str | None = None

    def late(self, today: date) -> bool:
        """Not approved by 31 December of its fiscal year (approved late, or still waiting past it)."""
        deadline = plan_approval_deadline(self.fiscal_year)
        if self.approved_on is not None:
            return self.approved_on > deadline
        return today > deadline

    def approve(self, approved_on: date, approved_by: str, meeting_ref: str) -> Plan:
        if self.status == "approved":
            raise Conflict(f"Plan {self.id} is already approved.", self.status)
        start, _ = fiscal_year_bounds(self.fiscal_year)
        if approved_on < date(start.year - 1, 1, 1):
            raise InvalidInput({"approved_on": ["Must be in or shortly before the plan's fiscal year."]})
        return replace(
            self, status="approved", approved_on=approved_on, approved_by=approved_by, meeting_ref=meeting_ref
        )


def decimal_text(value, field_name: str) -> str:
    """A plain decimal number as text (no float): '30', '12.5'."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput({field_name: ["Must be a number, e.g. 30 or 12.5."]}) from None
    if not number.is_finite():
        raise InvalidInput({field_name: ["Must be a number, e.g. 30 or 12.5."]})
    text = format(number.normalize(), "f")
    return text


def new_plan(plan_id: str, details: dict, taxonomy_issues: list[str], new_id) -> Plan:
    if details["issue"] not in taxonomy_issues:
        raise InvalidInput(
            {"issue": [f"Not an issue of the programme's taxonomy; one of: {', '.join(taxonomy_issues)}."]}
        )
    indicators = [
        Indicator(
            id=new_id(),
            name=item["name"],
            unit=item["unit"],
            baseline=decimal_text(item["baseline"], f"indicators.{index}.baseline"),
            target=decimal_text(item["target"], f"indicators.{index}.target"),
        )
        for index, item in enumerate(details["indicators"])
    ]
    return Plan(
        id=plan_id,
        fund_code=details["fund_code"],
        programme_id=details["programme_id"],
        issue=details["issue"],
        fiscal_year=details["fiscal_year"],
        situation=details["situation"],
        objectives=list(details["objectives"]),
        indicators=indicators,
    )


# ------------------------------------------------------------------ the budget ledger

INCOME_CODES: dict[int, str] = {
    40100: "เงินโอนจาก สปสช.",
    40200: "เงินสมทบจากองค์กรปกครองส่วนท้องถิ่น",
    40300: "ดอกเบี้ยเงินฝาก",
    40400: "เงินสมทบจากชุมชนหรือแหล่งอื่น",
    40500: "เงินคืนจากโครงการ",
}
SPENDING_TYPES: dict[int, str] = {
    1: "หน่วยบริการหรือสถานบริการสาธารณสุข",
    2: "กลุ่มหรือองค์กรประชาชน หรือหน่วยงานอื่น",
    3: "ศูนย์เด็กเล็ก ผู้สูงอายุ และคนพิการ",
    4: "การบริหารหรือพัฒนากองทุน",
    5: "กรณีเกิดโรคระบาดหรือภัยพิบัติ",
}
NHSO_CODE, MATCHING_CODE, REFUND_CODE = 40100, 40200, 40500
ENTRY_KINDS = ("income", "refund", "disbursement", "commitment", "release")
CITIZEN_GROUP = "citizen_group"


def spending_code(spending_type: int) -> int:
    """Spending type 1-5 ↔ ledger codes 50100-50500."""
    return 50000 + 100 * spending_type


def spending_type_of(code: int) -> int:
    return (code - 50000) // 100


@dataclass(frozen=True)
class LedgerEntry:
    """One line of a fund's ledger; ``amount`` is positive satang, the kind says which way it goes."""

    id: str
    fund_code: str
    fiscal_year: int
    kind: str
    code: int
    amount: int
    entry_date: date
    description: str = ""
    project_id: str | None = None
    commitment_id: str | None = None

    def deltas(self, citizen_group: bool = False) -> list[tuple[str, int, int]]:
        """Changes to the running totals: (bucket, code, signed satang)."""
        if self.kind in ("income", "refund"):
            return [("income", self.code, self.amount)]
        if self.kind == "commitment":
            moves = [("committed", self.code, self.amount)]
            return moves + ([("citizen_groups", self.code, self.amount)] if citizen_group else [])
        if self.kind == "release":
            moves = [("committed", self.code, -self.amount)]
            return moves + ([("citizen_groups", self.code, -self.amount)] if citizen_group else [])
        if self.kind == "disbursement":
            moves = [("spent", self.code, self.amount)]
            if self.commitment_id:
                moves.append(("committed", self.code, -self.amount))
            elif citizen_group:
                moves.append(("citizen_groups", self.code, self.amount))
            return moves
        raise ValueError(self.kind)


def new_entry(entry_id: str, fund_code: str, details: dict, today: date) -> LedgerEntry:
    """A manual entry (income, refund or disbursement), checked against the chart of codes."""
    kind, code, amount = details["kind"], details["code"], details["amount"]
    check_fiscal_year(details["fiscal_year"], today)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput({"amount": ["Must be a positive amount in baht with at most two decimals."]})
    if kind == "income" and code not in INCOME_CODES or (kind == "income" and code == REFUND_CODE):
        raise InvalidInput({"code": ["Income takes a code 40100-40400 (refunds from projects are kind refund)."]})
    if kind == "refund" and code != REFUND_CODE:
        raise InvalidInput({"code": ["A refund from a project is recorded under 40500."]})
    if kind == "disbursement" and code not in {spending_code(t) for t in SPENDING_TYPES}:
        raise InvalidInput({"code": ["A disbursement takes a spending code 50100-50500."]})
    if kind not in ("income", "refund", "disbursement"):
        raise InvalidInput({"kind": ["Must be income, refund or disbursement."]})
    return LedgerEntry(
        id=entry_id,
        fund_code=fund_code,
        fiscal_year=details["fiscal_year"],
        kind=kind,
        code=code,
        amount=amount,
        entry_date=details.get("entry_date") or today,
        description=details.get("description") or "",
        project_id=details.get("project_id"),
        commitment_id=details.get("commitment_id"),
    )


@dataclass(frozen=True)
class Balances:
    """A fund's money for one fiscal year, in satang.

    ``available = carried + income - committed - spent``; the carried balance is what earlier
    years left: their income less what they spent and what they still hold committed.
    """

    fiscal_year: int
    carried: int = 0
    income: int = 0
    committed: int = 0
    spent: int = 0
    income_by_code: dict[int, int] = field(default_factory=dict)
    committed_by_type: dict[int, int] = field(default_factory=dict)
    spent_by_type: dict[int, int] = field(default_factory=dict)
    citizen_groups: int = 0

    @property
    def available(self) -> int:
        return self.carried + self.income - self.committed - self.spent

    @property
    def money(self) -> int:
        """All the money of the year: carried balance plus the year's income."""
        return self.carried + self.income

    def used_by_type(self, spending_type: int) -> int:
        """Committed plus spent under one spending type."""
        return self.committed_by_type.get(spending_type, 0) + self.spent_by_type.get(spending_type, 0)

    @property
    def used(self) -> int:
        return self.committed + self.spent

    def event_view(self) -> dict:
        return {
            "income_satang": self.income,
            "committed_satang": self.committed,
            "available_satang": self.available,
        }


def balances_from_totals(fiscal_year: int, totals: list[tuple[int, str, int, int]]) -> Balances:
    """Fold running totals (fiscal_year, bucket, code, satang) of this and earlier years into balances."""
    carried = income = committed = spent = citizen = 0
    income_by_code: dict[int, int] = {}
    committed_by_type: dict[int, int] = {}
    spent_by_type: dict[int, int] = {}
    for year, bucket, code, amount in totals:
        if year < fiscal_year:
            carried += {"income": amount, "committed": -amount, "spent": -amount}.get(bucket, 0)
            continue
        if year > fiscal_year:
            continue
        if bucket == "income":
            income += amount
            income_by_code[code] = income_by_code.get(code, 0) + amount
        elif bucket == "committed":
            committed += amount
            committed_by_type[spending_type_of(code)] = committed_by_type.get(spending_type_of(code), 0) + amount
        elif bucket == "spent":
            spent += amount
            spent_by_type[spending_type_of(code)] = spent_by_type.get(spending_type_of(code), 0) + amount
        elif bucket == "citizen_groups":
            citizen += amount
    return Balances(
        fiscal_year, carried, income, committed, spent, income_by_code, committed_by_type, spent_by_type, citizen
    )


# ------------------------------------------------------------------ the quarterly financial report


@dataclass(frozen=True)
class QuarterFigures:
    """A fund's money at the end of a quarter (รายงานการเงินรายไตรมาส), in satang.

    ``income`` and ``spending`` run from the start of the fiscal year to the end of the quarter;
    ``carried`` is the ledger's carried balance (what earlier years left: their income less what they
    spent and still hold committed), so ``balance = carried + income - spending``.
    """

    fiscal_year: int
    quarter: int
    period_start: date
    period_end: date
    carried: int
    income: int
    spending: int

    @property
    def balance(self) -> int:
        return self.carried + self.income - self.spending


def check_reportable_quarter(fiscal_year: int, quarter: int, today: date) -> tuple[date, date]:
    """The quarter's first and last day, if its report may be sent today (Asia/Bangkok): the quarter has ended."""
    check_fiscal_year(fiscal_year, today)
    if isinstance(quarter, bool) or not isinstance(quarter, int):
        raise InvalidInput({"quarter": ["Must be a quarter of the fiscal year: 1 (October-December) to 4."]})
    start, end = quarter_bounds(fiscal_year, quarter)
    if today <= end:
        raise InvalidInput(
            {
                "quarter": [
                    f"Quarter {quarter} of fiscal year {fiscal_year} ({quarter_name_th(fiscal_year, quarter)}) "
                    f"ends on {end.isoformat()}; its financial report can be sent from "
                    f"{date.fromordinal(end.toordinal() + 1).isoformat()}."
                ]
            }
        )
    return start, end


def quarter_figures(
    fiscal_year: int, quarter: int, carried: int, movements: list[tuple[str, date, int]]
) -> QuarterFigures:
    """The quarter's figures from the fiscal year's ledger movements ``(kind, entry_date, satang)``.

    Income is income and refunds (40100-40500), spending is disbursements (50100-50500), each dated on or
    before the quarter's last day; commitments and releases are not money in or out.
    """
    start, end = quarter_bounds(fiscal_year, quarter)
    income = spending = 0
    for kind, entry_date, amount in movements:
        if entry_date > end:
            continue
        if kind in ("income", "refund"):
            income += amount
        elif kind == "disbursement":
            spending += amount
    return QuarterFigures(fiscal_year, quarter, start, end, carried, income, spending)


def check_submitter(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InvalidInput({"submitted_by": ["Name who sends the report, e.g. นางสาวสมศรี ใจดี."]})
    return cleaned


# ------------------------------------------------------------------ the rule set


@dataclass(frozen=True)
class MatchingBracket:
    """Own income up to ``up_to`` satang (inclusive; None: no limit) → at least ``min_percent`` of the allocation."""

    up_to: int | None
    min_percent: int


@dataclass(frozen=True)
class RuleSet:
    """The checks a fund is held to; defaults from NHSO criteria and the reference system."""

    per_capita_rate: int = 4500  # satang per registered person (45 baht)
    matching_brackets: tuple[MatchingBracket, ...] = (
        MatchingBracket(600_000_000 - 1, 30),  # own income under 6 M baht: at least 30 %
        MatchingBracket(2_000_000_000, 40),  # 6-20 M: at least 40 %
        MatchingBracket(None, 50),  # over 20 M: at least 50 %
    )
    administration_cap_percent: int = 15  # type 4 at most 15 % of the year's income (refuses commitments)
    type3_floor_percent: int = 15  # type 3 at least 15 % of the year's income (flag)
    citizen_groups_min_percent: int = 40  # at least 40 % of the budget used to citizen groups (flag)
    idle_balance_max_percent: int = 10  # available above 10 % of the year's money (flag)
    pace_q2_percent: int = 20  # spent by the end of Q2 / Q3 / Q4, of the year's money (flags)
    pace_q3_percent: int = 50
    pace_q4_percent: int = 80

    def as_dict(self) -> dict:
        document = asdict(self)
        document["matching_brackets"] = [asdict(bracket) for bracket in self.matching_brackets]
        return document

    @classmethod
    def from_dict(cls, document: dict) -> RuleSet:
        values = dict(document)
        if "matching_brackets" in values:
            values["matching_brackets"] = tuple(MatchingBracket(**item) for item in values["matching_brackets"])
        rules = cls(**values)
        rules.check()
        return rules

    def check(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.per_capita_rate <= 0:
            errors["per_capita_rate"] = ["Must be positive."]
        brackets = self.matching_brackets
        if not brackets or brackets[-1].up_to is not None:
            errors["matching_brackets"] = ["The last bracket must have no upper limit (up_to null)."]
        elif any(b.up_to is None for b in brackets[:-1]) or any(
            brackets[i].up_to >= brackets[i + 1].up_to for i in range(len(brackets) - 2)
        ):
            errors["matching_brackets"] = ["Brackets must rise: each up_to above the one before, the last null."]
        for index, bracket in enumerate(brackets):
            if not 0 <= bracket.min_percent <= 100:
                errors[f"matching_brackets.{index}.min_percent"] = ["Must be 0-100."]
        for name in (
            "administration_cap_percent",
            "type3_floor_percent",
            "citizen_groups_min_percent",
            "idle_balance_max_percent",
            "pace_q2_percent",
            "pace_q3_percent",
            "pace_q4_percent",
        ):
            if not 0 <= getattr(self, name) <= 100:
                errors[name] = ["Must be a percentage 0-100."]
        if errors:
            raise InvalidInput(errors)


def nhso_allocation(registered_population: int, rules: RuleSet) -> int:
    """The NHSO allocation in satang: registered population × the per-capita rate."""
    return registered_population * rules.per_capita_rate


def matching_percent(own_income: int, rules: RuleSet) -> int:
    """The least share of the allocation the local government adds, by its own income (satang)."""
    for bracket in rules.matching_brackets:
        if bracket.up_to is None or own_income <= bracket.up_to:
            return bracket.min_percent
    raise AssertionError("the rule set has an open-ended last bracket")


def percent_of(amount: int, percent: int) -> int:
    """``percent`` % of a satang amount, rounded up to the satang (a floor is never undercut)."""
    return -(-amount * percent // 100)


def required_matching(registered_population: int, own_income: int, rules: RuleSet) -> dict:
    allocation = nhso_allocation(registered_population, rules)
    percent = matching_percent(own_income, rules)
    return {"allocation": allocation, "percent": percent, "required": percent_of(allocation, percent)}


@dataclass(frozen=True)
class Refusal:
    code: str  # insufficient_balance | administration_cap | unknown_fund | rule_broken
    reason: str  # Thai, for people


def commitment_refusal(balances: Balances, rules: RuleSet, spending_type: int, amount: int) -> Refusal | None:
    """Why a commitment may not be made, or None: beyond the available balance, or over the type-4 cap."""
    if amount > balances.available:
        return Refusal(
            "insufficient_balance",
            f"ยอดเงินคงเหลือที่ใช้ได้ของกองทุนปีงบประมาณ {balances.fiscal_year} "
            f"มี {format_baht(max(balances.available, 0))} บาท "
            f"ไม่พอสำหรับโครงการนี้ {format_baht(amount)} บาท",
        )
    if spending_type == 4:
        cap = rules.administration_cap_percent * balances.income // 100
        after = balances.used_by_type(4) + amount
        if after * 100 > rules.administration_cap_percent * balances.income:
            return Refusal(
                "administration_cap",
                f"ค่าใช้จ่ายประเภทที่ 4 (บริหารหรือพัฒนากองทุน) จะเป็น {format_baht(after)} บาท "
                f"เกินเพดานร้อยละ {rules.administration_cap_percent} ของรายรับปีงบประมาณ {balances.fiscal_year} "
                f"({format_baht(cap)} บาท)",
            )
    return None


@dataclass(frozen=True)
class Check:
    """One rule checked against a fund's year: ``flagged`` means it needs attention."""

    code: str
    flagged: bool
    actual_percent: str | None
    threshold_percent: int
    message: str  # Thai

    def as_dict(self) -> dict:
        return asdict(self)


def _percent(part: int, whole: int) -> str | None:
    if whole <= 0:
        return None
    return f"{Decimal(part * 100) / Decimal(whole):.2f}"


def evaluate(balances: Balances, rules: RuleSet, as_of: date, spent_by_quarter_end: dict[str, int]) -> list[Check]:
    """Every configurable check of a fund's fiscal year as of a day.

    ``spent_by_quarter_end`` holds what was spent by the end of each quarter that has ended.
    """
    checks: list[Check] = []
    income, money = balances.income, balances.money
    type4 = balances.used_by_type(4)
    checks.append(
        Check(
            "administration_cap",
            type4 * 100 > rules.administration_cap_percent * income,
            _percent(type4, income),
            rules.administration_cap_percent,
            f"ประเภทที่ 4 ไม่เกินร้อยละ {rules.administration_cap_percent} ของรายรับ",
        )
    )
    type3 = balances.used_by_type(3)
    checks.append(
        Check(
            "type3_floor",
            income > 0 and type3 * 100 < rules.type3_floor_percent * income,
            _percent(type3, income),
            rules.type3_floor_percent,
            f"ประเภทที่ 3 ไม่น้อยกว่าร้อยละ {rules.type3_floor_percent} ของรายรับ",
        )
    )
    used = balances.used
    checks.append(
        Check(
            "citizen_groups_share",
            used > 0 and balances.citizen_groups * 100 < rules.citizen_groups_min_percent * used,
            _percent(balances.citizen_groups, used),
            rules.citizen_groups_min_percent,
            f"งบประมาณให้กลุ่มหรือองค์กรประชาชนไม่น้อยกว่าร้อยละ {rules.citizen_groups_min_percent}",
        )
    )
    checks.append(
        Check(
            "idle_balance",
            money > 0 and balances.available * 100 > rules.idle_balance_max_percent * money,
            _percent(balances.available, money),
            rules.idle_balance_max_percent,
            f"เงินคงเหลือไม่เกินร้อยละ {rules.idle_balance_max_percent} ของเงินทั้งหมดที่ใช้ได้",
        )
    )
    ends = quarter_ends(balances.fiscal_year)
    for quarter, threshold in (
        ("q2", rules.pace_q2_percent),
        ("q3", rules.pace_q3_percent),
        ("q4", rules.pace_q4_percent),
    ):
        if as_of <= ends[quarter] or quarter not in spent_by_quarter_end:
            continue
        spent = spent_by_quarter_end[quarter]
        checks.append(
            Check(
                f"spending_pace_{quarter}",
                money > 0 and spent * 100 < threshold * money,
                _percent(spent, money),
                threshold,
                f"ใช้จ่ายไม่น้อยกว่าร้อยละ {threshold} ภายในสิ้นไตรมาสที่ {quarter[1]}",
            )
        )
    return checks
