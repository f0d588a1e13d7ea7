"""Use cases of the funds service: each runs in one unit of work (or a read session)."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import date, datetime

from marshmallow import ValidationError
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError

from kongtun_common.engine import utcnow
from kongtun_common.errors import Conflict, InvalidInput, NotFound, flatten_marshmallow_errors
from kongtun_common.thai import BANGKOK

from . import domain, orm
from .domain import Balances, Fund, LedgerEntry, Plan, RuleSet, register_fund
from .schemas import FundRow, GeographyRow

log = logging.getLogger(__name__)

PLACE_KEYS = ("fund_code", "fund_name", "subdistrict", "district", "province", "region")
FUND_FIELDS = ("code", "name_th", "name_en", "subdistrict", "district", "province", "region", "registered_at")


def today() -> date:
    return datetime.now(BANGKOK).date()


def new_id() -> str:
    return str(uuid.uuid4())


def _uuid_or_404(value, resource: str, field: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(resource, str(value), field=field) from None


def paginate(session, statement, page: int, per_page: int, mapper=dict) -> dict:
    total = session.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar()
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).mappings().all()
    return {"items": [mapper(row) for row in rows], "page": page, "per_page": per_page, "total": total}


def _place_filters(statement, table, filters: dict):
    for name in ("region", "province", "district"):
        if filters.get(name) is not None and name in table.c:
            statement = statement.where(table.c[name] == filters[name])
    return statement


# ------------------------------------------------------------------ geography


def ensure_place(session, region: int, province: str, district: str | None, subdistrict: str | None = None) -> None:
    """Record a province / district / subdistrict if new; a province of another region is refused."""
    known = session.execute(select(orm.provinces.c.region).where(orm.provinces.c.name_th == province)).first()
    if known is None:
        session.execute(orm.provinces.insert().values(name_th=province, name_en=None, region=region))
    elif known.region != region:
        raise InvalidInput({"province": [f"{province} is in NHSO region {known.region}, not {region}."]})
    if district:
        _insert_missing(session, orm.districts, {"province": province, "name_th": district})
    if district and subdistrict:
        _insert_missing(session, orm.subdistricts, {"province": province, "district": district, "name_th": subdistrict})


def _insert_missing(session, table, key: dict, values: dict | None = None) -> bool:
    condition = and_(*(table.c[name] == value for name, value in key.items()))
    if session.execute(select(func.count()).select_from(table).where(condition)).scalar():
        return False
    session.execute(table.insert().values(**key, **(values or {})))
    return True


def list_provinces(session, filters: dict) -> dict:
    statement = select(orm.provinces).order_by(orm.provinces.c.region, orm.provinces.c.name_th)
    if filters.get("region") is not None:
        statement = statement.where(orm.provinces.c.region == filters["region"])
    return paginate(session, statement, filters["page"], filters["per_page"])


def list_districts(session, filters: dict) -> dict:
    table = orm.districts
    statement = (
        select(table.c.province, table.c.name_th, table.c.name_en, orm.provinces.c.region)
        .join(orm.provinces, orm.provinces.c.name_th == table.c.province)
        .order_by(table.c.province, table.c.name_th)
    )
    if filters.get("region") is not None:
        statement = statement.where(orm.provinces.c.region == filters["region"])
    if filters.get("province") is not None:
        statement = statement.where(table.c.province == filters["province"])
    return paginate(session, statement, filters["page"], filters["per_page"])


def list_local_governments(session, filters: dict) -> dict:
    table = orm.local_governments
    statement = select(table).order_by(table.c.province, table.c.district, table.c.name_th)
    statement = _place_filters(statement, table, filters)
    return paginate(session, statement, filters["page"], filters["per_page"], _lao_out)


def _lao_out(row) -> dict:
    return {**dict(row), "kind_th": domain.LAO_KINDS[row["kind"]]}


def ensure_lao(session, lao: dict, province: str, district: str, subdistrict: str | None) -> str:
    province = lao.get("province") or province
    district = lao.get("district") or district
    identifier = domain.lao_id(province, district, lao["name_th"])
    existing = session.execute(select(orm.local_governments).where(orm.local_governments.c.id == identifier)).first()
    if existing is None:
        session.execute(
            orm.local_governments.insert().values(
                id=identifier,
                name_th=lao["name_th"],
                kind=lao["kind"],
                province=province,
                district=district,
                subdistrict=lao.get("subdistrict") or subdistrict,
            )
        )
    elif existing.kind != lao["kind"]:
        raise InvalidInput({"lao.kind": [f"{lao['name_th']} is recorded as {existing.kind}, not {lao['kind']}."]})
    return identifier


# ------------------------------------------------------------------ funds


def register(uow, details: dict) -> Fund:
    fund = register_fund(details, uow.region, utcnow())
    exists = uow.session.execute(select(orm.funds.c.code).where(orm.funds.c.code == fund.code)).first()
    if exists:
        raise InvalidInput({"code": [f"Fund {fund.code} is already registered."]})
    _store_fund(uow, fund, details.get("lao"))
    return fund


def _store_fund(uow, fund: Fund, lao: dict | None) -> None:
    ensure_place(uow.session, fund.region, fund.province, fund.district, fund.subdistrict)
    if lao:
        ensure_lao(uow.session, lao, fund.province, fund.district, fund.subdistrict)
    try:
        uow.session.execute(orm.funds.insert().values(**_row(fund)))
        uow.session.flush()
    except IntegrityError:
        raise InvalidInput({"code": [f"Fund {fund.code} is already registered."]}) from None
    uow.publish("FundRegistered", fund.registered_event(), subject=fund.code)


def get(session, code: str) -> Fund:
    return _fund(session, code)


def _fund(session, code: str, field: str = "fund_code", lock: bool = False) -> Fund:
    statement = select(orm.funds).where(orm.funds.c.code == code)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).mappings().first()
    if row is None:
        raise NotFound("fund", code, field=field)
    return Fund(**dict(row))


def _known_fund(session, code: str, field: str = "fund_code", lock: bool = False) -> Fund:
    """A fund named in a request body: unknown is invalid input naming the field."""
    try:
        return _fund(session, code, field, lock)
    except NotFound:
        raise InvalidInput({field: [f"Fund {code} is not registered."]}) from None


def list_funds(session, filters: dict) -> dict:
    statement = select(*(orm.funds.c[name] for name in FUND_FIELDS)).order_by(orm.funds.c.code)
    statement = _place_filters(statement, orm.funds, filters)
    return paginate(session, statement, filters["page"], filters["per_page"])


def fund_details(session, code: str) -> dict:
    fund = _fund(session, code)
    lao = None
    if fund.lao_id:
        row = session.execute(select(orm.local_governments).where(orm.local_governments.c.id == fund.lao_id)).first()
        lao = _lao_out(row._mapping) if row else None
    joined = session.execute(
        select(orm.programmes.c.id, orm.programmes.c.name_th, orm.programme_funds.c.joined_on)
        .join(orm.programme_funds, orm.programme_funds.c.programme_id == orm.programmes.c.id)
        .where(orm.programme_funds.c.fund_code == code)
        .order_by(orm.programme_funds.c.joined_on)
    ).mappings()
    return {
        **{name: getattr(fund, name) for name in FUND_FIELDS},
        "address": fund.address,
        "local_government": lao,
        "programmes": [dict(row) for row in joined],
    }


def _row(fund: Fund) -> dict:
    return {
        "code": fund.code,
        "name_th": fund.name_th,
        "name_en": fund.name_en,
        "subdistrict": fund.subdistrict,
        "district": fund.district,
        "province": fund.province,
        "region": fund.region,
        "registered_at": fund.registered_at,
        "address": fund.address,
        "lao_id": fund.lao_id,
    }


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


# ------------------------------------------------------------------ import


GEOGRAPHY_COLUMNS = list(GeographyRow().fields)
FUND_COLUMNS = list(FundRow().fields)


def _read_csv(filename: str, content: str, schema, columns: list[str]) -> tuple[list[tuple[int, dict]], dict]:
    """Every line checked: the good rows, and the errors by file:line:field."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [name for name in columns if name not in header and schema.fields[name].required]
    unknown = [name for name in header if name not in columns]
    if missing or unknown:
        message = []
        if missing:
            message.append(f"missing columns: {', '.join(missing)}")
        if unknown:
            message.append(f"unknown columns: {', '.join(unknown)}")
        raise InvalidInput({f"{filename}:1:header": ["; ".join(message)]}, f"{filename} line 1: bad header.")
    rows, errors = [], {}
    for line, raw in enumerate(reader, start=2):
        if raw.get(None):
            errors[f"{filename}:{line}:row"] = ["More values than columns."]
            continue
        values = {key: (value.strip() if isinstance(value, str) else value) for key, value in raw.items()}
        if not any(values.values()):
            continue
        values = {key: value for key, value in values.items() if value not in ("", None)}
        try:
            rows.append((line, schema.load(values)))
        except ValidationError as exc:
            for name, messages in flatten_marshmallow_errors(exc.messages).items():
                errors[f"{filename}:{line}:{name}"] = messages
    return rows, errors


def import_csv(uow, kind: str, filename: str, content: str) -> dict:
    """Load geography or funds from a CSV text. Re-importing the same file changes nothing."""
    if kind == "geography":
        return _import_geography(uow, filename, *_read_csv(filename, content, GeographyRow(), GEOGRAPHY_COLUMNS))
    if kind == "funds":
        return _import_funds(uow, filename, *_read_csv(filename, content, FundRow(), FUND_COLUMNS))
    raise InvalidInput({"kind": ["Must be geography or funds."]})


def _refuse_import(filename: str, errors: dict) -> None:
    """Any error: the whole file is refused (the unit of work rolls back whatever was written)."""
    if errors:
        ordered = dict(sorted(errors.items(), key=lambda item: int(item[0].split(":")[-2])))
        first = next(iter(ordered))
        raise InvalidInput(
            ordered, f"{filename} has {len(ordered)} error(s), the first at {first}; nothing was imported."
        )


def _import_geography(uow, filename: str, rows, errors: dict) -> dict:
    session, created, unchanged = uow.session, 0, 0
    for line, row in rows:
        province = row["province_th"]
        known = session.execute(select(orm.provinces).where(orm.provinces.c.name_th == province)).first()
        if known is not None and known.region != row["region"]:
            errors[f"{filename}:{line}:region"] = [f"{province} is in NHSO region {known.region}."]
            continue
        added = False
        if known is None:
            session.execute(
                orm.provinces.insert().values(name_th=province, name_en=row["province_en"], region=row["region"])
            )
            added = True
        elif row["province_en"] and known.name_en != row["province_en"]:
            session.execute(
                orm.provinces.update().where(orm.provinces.c.name_th == province).values(name_en=row["province_en"])
            )
            added = True
        if row["district_th"]:
            added |= _upsert_name(
                session, orm.districts, {"province": province, "name_th": row["district_th"]}, row["district_en"]
            )
        if row["subdistrict_th"]:
            key = {"province": province, "district": row["district_th"], "name_th": row["subdistrict_th"]}
            added |= _upsert_name(session, orm.subdistricts, key, row["subdistrict_en"])
        created, unchanged = created + added, unchanged + (not added)
    _refuse_import(filename, errors)
    return {
        "kind": "geography",
        "file": filename,
        "rows": len(rows),
        "created_or_updated": created,
        "unchanged": unchanged,
    }


def _upsert_name(session, table, key: dict, name_en: str | None) -> bool:
    condition = and_(*(table.c[name] == value for name, value in key.items()))
    row = session.execute(select(table.c.name_en).where(condition)).first()
    if row is None:
        session.execute(table.insert().values(**key, name_en=name_en))
        return True
    if name_en and row.name_en != name_en:
        session.execute(table.update().where(condition).values(name_en=name_en))
        return True
    return False


def _import_funds(uow, filename: str, rows, errors: dict) -> dict:
    session, now = uow.session, utcnow()
    seen: dict[str, int] = {}
    created = unchanged = 0
    for line, row in rows:
        if row["code"] in seen:
            errors[f"{filename}:{line}:code"] = [f"{row['code']} appears again (first on line {seen[row['code']]})."]
            continue
        seen[row["code"]] = line
        lao = {"name_th": row["lao_name_th"], "kind": row["lao_kind"]}
        details = {**row, "lao": lao}
        try:
            fund = register_fund(details, uow.region, now)
        except InvalidInput as exc:
            errors.update({f"{filename}:{line}:{name}": messages for name, messages in exc.errors.items()})
            continue
        existing = session.execute(select(orm.funds).where(orm.funds.c.code == fund.code)).mappings().first()
        if existing is not None:
            if Fund(**dict(existing)).same_registration(fund):
                unchanged += 1
            else:
                errors[f"{filename}:{line}:code"] = [
                    f"Fund {fund.code} is already registered with other details ({existing['name_th']}); "
                    "an import does not change a registered fund."
                ]
            continue
        try:
            _store_fund(uow, fund, lao)
        except InvalidInput as exc:
            errors.update({f"{filename}:{line}:{name}": messages for name, messages in exc.errors.items()})
            continue
        created += 1
    _refuse_import(filename, errors)
    return {"kind": "funds", "file": filename, "rows": len(rows), "created": created, "unchanged": unchanged}


# ------------------------------------------------------------------ people


def add_person(uow, code: str, details: dict) -> dict:
    _fund(uow.session, code)
    domain.check_term(details.get("term_start"), details.get("term_end"))
    if details["role"] == "officer":  # one fund officer at a time: the new one replaces the old
        uow.session.execute(orm.people.delete().where(orm.people.c.fund_code == code, orm.people.c.role == "officer"))
    person = {"id": new_id(), "fund_code": code, **details}
    uow.session.execute(orm.people.insert().values(**person))
    return _person_out(person, today())


def list_people(session, code: str, on: date | None = None) -> dict:
    _fund(session, code)
    on = on or today()
    rows = session.execute(
        select(orm.people).where(orm.people.c.fund_code == code).order_by(orm.people.c.role.desc(), orm.people.c.name)
    ).mappings()
    items = [_person_out(dict(row), on) for row in rows]
    return {
        "fund_code": code,
        "officer": next((item for item in items if item["role"] == "officer"), None),
        "committee": [item for item in items if item["role"] == "committee_member"],
        "expired_terms": sum(item["term_expired"] for item in items),
    }


def _person_out(person: dict, on: date) -> dict:
    return {**person, "term_expired": domain.term_expired(person.get("term_end"), on)}


def create_mentor(uow, details: dict) -> dict:
    fund_codes = details.pop("fund_codes", [])
    mentor = {"id": new_id(), **details}
    uow.session.execute(orm.mentors.insert().values(**mentor))
    for index, code in enumerate(fund_codes):
        _known_fund(uow.session, code, field=f"fund_codes.{index}")
        _insert_missing(uow.session, orm.mentor_funds, {"mentor_id": mentor["id"], "fund_code": code})
    return get_mentor(uow.session, mentor["id"])


def assign_mentor(uow, mentor_id: str, code: str) -> dict:
    mentor_id = _uuid_or_404(mentor_id, "mentor", "mentor_id")
    get_mentor(uow.session, mentor_id)
    _known_fund(uow.session, code)
    _insert_missing(uow.session, orm.mentor_funds, {"mentor_id": mentor_id, "fund_code": code})
    return get_mentor(uow.session, mentor_id)


def get_mentor(session, mentor_id: str) -> dict:
    mentor_id = _uuid_or_404(mentor_id, "mentor", "mentor_id")
    row = session.execute(select(orm.mentors).where(orm.mentors.c.id == mentor_id)).mappings().first()
    if row is None:
        raise NotFound("mentor", mentor_id, field="mentor_id")
    return _mentor_out(session, row)


def _mentor_out(session, row) -> dict:
    codes = session.execute(
        select(orm.mentor_funds.c.fund_code)
        .where(orm.mentor_funds.c.mentor_id == row["id"])
        .order_by(orm.mentor_funds.c.fund_code)
    ).scalars()
    return {**dict(row), "fund_codes": list(codes)}


def list_mentors(session, filters: dict) -> dict:
    table = orm.mentors
    statement = select(table).order_by(table.c.province, table.c.level, table.c.name)
    if filters.get("province"):
        statement = statement.where(table.c.province == filters["province"])
    if filters.get("level"):
        statement = statement.where(table.c.level == filters["level"])
    if filters.get("fund_code"):
        statement = statement.where(
            table.c.id.in_(
                select(orm.mentor_funds.c.mentor_id).where(orm.mentor_funds.c.fund_code == filters["fund_code"])
            )
        )
    return paginate(session, statement, filters["page"], filters["per_page"], lambda row: _mentor_out(session, row))


def create_district_committee(uow, details: dict) -> dict:
    domain.check_district_committee(details["members"])
    session = uow.session
    province = session.execute(select(orm.provinces).where(orm.provinces.c.name_th == details["province"])).first()
    region = province.region if province else uow.region
    ensure_place(session, region, details["province"], details["district"])
    taken = session.execute(
        select(orm.district_committees.c.id).where(
            orm.district_committees.c.province == details["province"],
            orm.district_committees.c.district == details["district"],
        )
    ).first()
    if taken:
        raise InvalidInput({"district": [f"The district already has a committee ({taken.id})."]})
    committee_id = new_id()
    session.execute(
        orm.district_committees.insert().values(
            id=committee_id,
            name_th=details["name_th"],
            province=details["province"],
            district=details["district"],
            region=region,
        )
    )
    for position, member in enumerate(details["members"]):
        session.execute(
            orm.district_committee_members.insert().values(
                id=new_id(), committee_id=committee_id, position_no=position, **member
            )
        )
    return _district_committee_out(session, committee_id)


def _district_committee_out(session, committee_id: str) -> dict:
    row = (
        session.execute(select(orm.district_committees).where(orm.district_committees.c.id == committee_id))
        .mappings()
        .first()
    )
    members = session.execute(
        select(
            orm.district_committee_members.c.name,
            orm.district_committee_members.c.role,
            orm.district_committee_members.c.position,
            orm.district_committee_members.c.organisation,
        )
        .where(orm.district_committee_members.c.committee_id == committee_id)
        .order_by(orm.district_committee_members.c.position_no)
    ).mappings()
    members = [dict(member) for member in members]
    return {
        **dict(row),
        "members": members,
        "secretary": next((member for member in members if member["role"] == "secretary"), None),
    }


def list_district_committees(session, filters: dict) -> dict:
    table = orm.district_committees
    statement = _place_filters(select(table.c.id).order_by(table.c.province, table.c.district), table, filters)
    return paginate(
        session,
        statement,
        filters["page"],
        filters["per_page"],
        lambda row: _district_committee_out(session, row["id"]),
    )


# ------------------------------------------------------------------ taxonomies, programmes, agreements


def load_taxonomy(uow, details: dict) -> dict:
    """Load an issue taxonomy; loading the same one again changes nothing."""
    session = uow.session
    existing = session.execute(select(orm.taxonomies).where(orm.taxonomies.c.code == details["code"])).first()
    if existing is not None:
        current = get_taxonomy(session, details["code"])
        wanted = [
            {"code": issue["code"], "name_th": issue["name_th"], "name_en": issue.get("name_en")}
            for issue in details["issues"]
        ]
        if current["issues"] != wanted or current["name_th"] != details["name_th"]:
            raise Conflict(f"Taxonomy {details['code']} is already loaded with other issues.", "loaded")
        return current
    session.execute(
        orm.taxonomies.insert().values(code=details["code"], name_th=details["name_th"], source=details["source"])
    )
    for position, issue in enumerate(details["issues"]):
        session.execute(
            orm.taxonomy_issues.insert().values(
                taxonomy_code=details["code"],
                code=issue["code"],
                position_no=position,
                name_th=issue["name_th"],
                name_en=issue.get("name_en"),
            )
        )
    return get_taxonomy(session, details["code"])


def get_taxonomy(session, code: str) -> dict:
    row = session.execute(select(orm.taxonomies).where(orm.taxonomies.c.code == code)).mappings().first()
    if row is None:
        raise NotFound("taxonomy", code, field="taxonomy_code")
    issues = session.execute(
        select(orm.taxonomy_issues.c.code, orm.taxonomy_issues.c.name_th, orm.taxonomy_issues.c.name_en)
        .where(orm.taxonomy_issues.c.taxonomy_code == code)
        .order_by(orm.taxonomy_issues.c.position_no)
    ).mappings()
    return {**dict(row), "issues": [dict(issue) for issue in issues]}


def list_taxonomies(session) -> dict:
    codes = session.execute(select(orm.taxonomies.c.code).order_by(orm.taxonomies.c.code)).scalars().all()
    return {"items": [get_taxonomy(session, code) for code in codes]}


def create_programme(uow, details: dict) -> dict:
    session = uow.session
    try:
        get_taxonomy(session, details["taxonomy_code"])
    except NotFound:
        raise InvalidInput({"taxonomy_code": [f"Taxonomy {details['taxonomy_code']} is not loaded."]}) from None
    province, district = details.get("province"), details.get("district")
    hub_id = None
    if details.get("hub"):
        hub = details["hub"]
        if not (hub.get("province") or province) or not (hub.get("district") or district):
            raise InvalidInput({"hub.province": ["Name the hub's province and district (or the programme's)."]})
        hub_id = ensure_lao(session, hub, province, district, None)
    programme_id = new_id()
    session.execute(
        orm.programmes.insert().values(
            id=programme_id,
            name_th=details["name_th"],
            kind=details["kind"],
            taxonomy_code=details["taxonomy_code"],
            province=province,
            district=district,
            hub_lao_id=hub_id,
            partners=list(details.get("partners", [])),
            created_at=utcnow(),
        )
    )
    for index, member in enumerate(details.get("members", [])):
        if not (member.get("province") or province) or not (member.get("district") or district):
            raise InvalidInput({f"members.{index}.province": ["Name the member's province and district."]})
        member_id = ensure_lao(session, member, province, district, None)
        _insert_missing(session, orm.programme_members, {"programme_id": programme_id, "lao_id": member_id})
    return get_programme(session, programme_id)


def get_programme(session, programme_id: str, field: str = "programme_id") -> dict:
    programme_id = _uuid_or_404(programme_id, "programme", field)
    row = session.execute(select(orm.programmes).where(orm.programmes.c.id == programme_id)).mappings().first()
    if row is None:
        raise NotFound("programme", programme_id, field=field)
    hub = None
    if row["hub_lao_id"]:
        hub = _lao_out(
            session.execute(select(orm.local_governments).where(orm.local_governments.c.id == row["hub_lao_id"]))
            .mappings()
            .first()
        )
    members = session.execute(
        select(orm.local_governments)
        .join(orm.programme_members, orm.programme_members.c.lao_id == orm.local_governments.c.id)
        .where(orm.programme_members.c.programme_id == programme_id)
        .order_by(orm.local_governments.c.name_th)
    ).mappings()
    funds = session.execute(
        select(orm.programme_funds.c.fund_code, orm.programme_funds.c.agreement_id, orm.programme_funds.c.joined_on)
        .where(orm.programme_funds.c.programme_id == programme_id)
        .order_by(orm.programme_funds.c.fund_code)
    ).mappings()
    return {
        **{key: value for key, value in dict(row).items() if key != "hub_lao_id"},
        "taxonomy": get_taxonomy(session, row["taxonomy_code"]),
        "hub": hub,
        "members": [_lao_out(member) for member in members],
        "funds": [dict(fund) for fund in funds],
    }


def list_programmes(session, filters: dict) -> dict:
    table = orm.programmes
    statement = select(table.c.id).order_by(table.c.created_at, table.c.id)
    if filters.get("province"):
        statement = statement.where(table.c.province == filters["province"])
    if filters.get("kind"):
        statement = statement.where(table.c.kind == filters["kind"])
    return paginate(
        session, statement, filters["page"], filters["per_page"], lambda row: get_programme(session, row["id"])
    )


def sign_agreement(uow, programme_id: str, details: dict) -> dict:
    """Record a signed agreement (MOU); its funds join the programme (FundJoinedProgramme each)."""
    session = uow.session
    programme = get_programme(session, programme_id)
    funds = [_known_fund(session, code, field=f"fund_codes.{i}") for i, code in enumerate(details["fund_codes"])]
    if len({fund.code for fund in funds}) != len(funds):
        raise InvalidInput({"fund_codes": ["Each fund appears once."]})
    agreement_id, now = new_id(), utcnow()
    session.execute(
        orm.agreements.insert().values(
            id=agreement_id,
            programme_id=programme["id"],
            title=details["title"],
            signed_on=details["signed_on"],
            place=details["place"],
            parties=list(details["parties"]),
            recorded_at=now,
        )
    )
    joined = []
    for fund in funds:
        key = {"programme_id": programme["id"], "fund_code": fund.code}
        if _insert_missing(
            session, orm.programme_funds, key, {"agreement_id": agreement_id, "joined_on": details["signed_on"]}
        ):
            joined.append(fund)
            uow.publish(
                "FundJoinedProgramme",
                {
                    **fund.place(),
                    "programme_id": programme["id"],
                    "programme_name": programme["name_th"],
                    "programme_kind": programme["kind"],
                    "taxonomy_code": programme["taxonomy_code"],
                    "agreement_id": agreement_id,
                    "joined_on": details["signed_on"].isoformat(),
                },
                subject=fund.code,
            )
    agreement = get_agreement(session, agreement_id)
    uow.publish(
        "AgreementSigned",
        {
            "agreement_id": agreement_id,
            "programme_id": programme["id"],
            "programme_name": programme["name_th"],
            "programme_kind": programme["kind"],
            "title": details["title"],
            "signed_on": details["signed_on"].isoformat(),
            "place": details["place"],
            "parties": list(details["parties"]),
            "funds": [fund.place() for fund in funds],
            "recorded_at": now.isoformat(),
        },
        subject=agreement_id,
    )
    return {**agreement, "newly_joined": [fund.code for fund in joined]}


def get_agreement(session, agreement_id: str) -> dict:
    row = session.execute(select(orm.agreements).where(orm.agreements.c.id == agreement_id)).mappings().first()
    if row is None:
        raise NotFound("agreement", agreement_id, field="agreement_id")
    codes = session.execute(
        select(orm.programme_funds.c.fund_code)
        .where(orm.programme_funds.c.agreement_id == agreement_id)
        .order_by(orm.programme_funds.c.fund_code)
    ).scalars()
    return {**dict(row), "fund_codes": list(codes)}


def list_agreements(session, programme_id: str) -> dict:
    programme = get_programme(session, programme_id)
    ids = session.execute(
        select(orm.agreements.c.id)
        .where(orm.agreements.c.programme_id == programme["id"])
        .order_by(orm.agreements.c.signed_on)
    ).scalars()
    return {"items": [get_agreement(session, agreement_id) for agreement_id in ids]}


# ------------------------------------------------------------------ plans


def create_plan(uow, details: dict) -> dict:
    session = uow.session
    details = {**details, "programme_id": str(details["programme_id"])}
    fund = _known_fund(session, details["fund_code"])
    domain.check_fiscal_year(details["fiscal_year"], today())
    try:
        programme = get_programme(session, details["programme_id"])
    except NotFound:
        raise InvalidInput({"programme_id": [f"Programme {details['programme_id']} does not exist."]}) from None
    if fund.code not in {member["fund_code"] for member in programme["funds"]}:
        raise InvalidInput({"fund_code": [f"Fund {fund.code} has not joined the programme (no agreement)."]})
    issues = [issue["code"] for issue in programme["taxonomy"]["issues"]]
    plan = domain.new_plan(new_id(), details, issues, new_id)
    taken = session.execute(
        select(orm.plans.c.id).where(
            orm.plans.c.fund_code == plan.fund_code,
            orm.plans.c.programme_id == plan.programme_id,
            orm.plans.c.issue == plan.issue,
            orm.plans.c.fiscal_year == plan.fiscal_year,
        )
    ).first()
    if taken:
        raise InvalidInput(
            {"issue": [f"The fund already has a plan for this issue in {plan.fiscal_year} ({taken.id})."]}
        )
    session.execute(
        orm.plans.insert().values(
            id=plan.id,
            fund_code=plan.fund_code,
            programme_id=plan.programme_id,
            issue=plan.issue,
            fiscal_year=plan.fiscal_year,
            situation=plan.situation,
            objectives=plan.objectives,
            status=plan.status,
            created_at=utcnow(),
        )
    )
    for position, indicator in enumerate(plan.indicators):
        session.execute(
            orm.plan_indicators.insert().values(
                id=indicator.id,
                plan_id=plan.id,
                position_no=position,
                name=indicator.name,
                unit=indicator.unit,
                baseline=indicator.baseline,
                target=indicator.target,
            )
        )
    return plan_details(session, plan.id)


def _load_plan(session, plan_id: str) -> Plan:
    plan_id = _uuid_or_404(plan_id, "plan", "plan_id")
    row = session.execute(select(orm.plans).where(orm.plans.c.id == plan_id)).mappings().first()
    if row is None:
        raise NotFound("plan", plan_id, field="plan_id")
    indicators = session.execute(
        select(orm.plan_indicators)
        .where(orm.plan_indicators.c.plan_id == plan_id)
        .order_by(orm.plan_indicators.c.position_no)
    ).mappings()
    return Plan(
        id=row["id"],
        fund_code=row["fund_code"],
        programme_id=row["programme_id"],
        issue=row["issue"],
        fiscal_year=row["fiscal_year"],
        situation=row["situation"],
        objectives=list(row["objectives"]),
        indicators=[
            domain.Indicator(item["id"], item["name"], item["unit"], item["baseline"], item["target"])
            for item in indicators
        ],
        status=row["status"],
        approved_on=row["approved_on"],
        approved_by=row["approved_by"],
        meeting_ref=row["meeting_ref"],
    )


def get_plan(session, plan_id: str) -> dict:
    """The plan as the projects service reads it (agreed shape)."""
    plan = _load_plan(session, plan_id)
    return {
        "id": plan.id,
        "fund_code": plan.fund_code,
        "fiscal_year": plan.fiscal_year,
        "issue": plan.issue,
        "programme_id": plan.programme_id,
        "status": plan.status,
        "indicators": [_indicator_out(indicator) for indicator in plan.indicators],
    }


def _indicator_out(indicator) -> dict:
    return {
        "id": indicator.id,
        "name": indicator.name,
        "unit": indicator.unit,
        "baseline": indicator.baseline,
        "target": indicator.target,
    }


def plan_details(session, plan_id: str, on: date | None = None) -> dict:
    plan = _load_plan(session, plan_id)
    return _plan_out(plan, on or today())


def _plan_out(plan: Plan, on: date) -> dict:
    return {
        "id": plan.id,
        "fund_code": plan.fund_code,
        "programme_id": plan.programme_id,
        "issue": plan.issue,
        "fiscal_year": plan.fiscal_year,
        "situation": plan.situation,
        "objectives": plan.objectives,
        "indicators": [_indicator_out(indicator) for indicator in plan.indicators],
        "status": plan.status,
        "approved_on": plan.approved_on,
        "approved_by": plan.approved_by,
        "meeting_ref": plan.meeting_ref,
        "approval_deadline": domain.plan_approval_deadline(plan.fiscal_year),
        "late": plan.late(on),
    }


def approve_plan(uow, plan_id: str, details: dict) -> dict:
    session = uow.session
    plan = _load_plan(session, plan_id)
    approved = plan.approve(details["approved_on"], details["approved_by"], details["meeting_ref"])
    session.execute(
        orm.plans.update()
        .where(orm.plans.c.id == plan.id, orm.plans.c.status == "draft")
        .values(
            status=approved.status,
            approved_on=approved.approved_on,
            approved_by=approved.approved_by,
            meeting_ref=approved.meeting_ref,
        )
    )
    fund = _fund(session, plan.fund_code)
    programme = get_programme(session, plan.programme_id)
    issue = next(item for item in programme["taxonomy"]["issues"] if item["code"] == plan.issue)
    uow.publish(
        "PlanApproved",
        {
            "plan_id": plan.id,
            **fund.place(),
            "programme_id": plan.programme_id,
            "programme_name": programme["name_th"],
            "taxonomy_code": programme["taxonomy_code"],
            "issue": plan.issue,
            "issue_name": issue["name_th"],
            "fiscal_year": plan.fiscal_year,
            "approved_on": approved.approved_on.isoformat(),
            "approved_at": utcnow().isoformat(),
            "approved_by": approved.approved_by,
            "meeting_ref": approved.meeting_ref or "",
            "late": approved.late(today()),
            "indicators": [_indicator_out(indicator) for indicator in approved.indicators],
        },
        subject=plan.id,
    )
    return _plan_out(approved, today())


def list_plans(session, filters: dict) -> dict:
    table = orm.plans
    statement = select(table.c.id).join(orm.funds, orm.funds.c.code == table.c.fund_code)
    statement = _place_filters(statement, orm.funds, filters)
    for name in ("fund_code", "fiscal_year", "status"):
        if filters.get(name) is not None:
            statement = statement.where(table.c[name] == filters[name])
    if filters.get("programme_id") is not None:
        statement = statement.where(table.c.programme_id == str(filters["programme_id"]))
    if filters.get("late") is not None:
        # late: still a draft after 31 December of its fiscal year, or approved after it
        on = today()
        years = session.execute(select(table.c.fiscal_year).distinct()).scalars().all()
        conditions = []
        for year in years:
            deadline = domain.plan_approval_deadline(year)
            late_here = table.c.approved_on > deadline
            if on > deadline:
                late_here = late_here | (table.c.status == "draft")
            conditions.append((table.c.fiscal_year == year) & late_here)
        late = or_(*conditions) if conditions else false()
        statement = statement.where(late if filters["late"] else ~late)
    statement = statement.order_by(table.c.fiscal_year.desc(), table.c.fund_code, table.c.issue)
    return paginate(
        session, statement, filters["page"], filters["per_page"], lambda row: plan_details(session, row["id"])
    )


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
