"""Use cases of the registry: geography, local governments, funds, CSV import, people and mentors."""

from __future__ import annotations

import csv
import io
from datetime import date

from marshmallow import ValidationError
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from kongtun_common.db import insert_ignoring_conflicts
from kongtun_common.engine import utcnow
from kongtun_common.errors import InvalidInput, NotFound, flatten_marshmallow_errors

from .. import domain, orm
from ..domain import Fund, register_fund
from ..schemas import FundRow, GeographyRow
from .base import (
    FUND_FIELDS,
    _fund,
    _insert_missing,
    _known_fund,
    _lao_out,
    _place_filters,
    _uuid_or_404,
    new_id,
    paginate,
    today,
)

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
    """A mentor, with the funds they coach (MentorAssigned for each fund)."""
    fund_codes = details.pop("fund_codes", [])
    mentor = {"id": new_id(), **details}
    uow.session.execute(orm.mentors.insert().values(**mentor))
    for index, code in enumerate(fund_codes):
        fund = _known_fund(uow.session, code, field=f"fund_codes.{index}")
        _assign(uow, mentor, fund)
    return get_mentor(uow.session, mentor["id"])


def assign_mentor(uow, mentor_id: str, code: str) -> dict:
    """A mentor takes on a fund (MentorAssigned); assigning them again changes nothing and says nothing."""
    mentor_id = _uuid_or_404(mentor_id, "mentor", "mentor_id")
    mentor = get_mentor(uow.session, mentor_id)
    fund = _known_fund(uow.session, code)
    _assign(uow, mentor, fund)
    return get_mentor(uow.session, mentor_id)


def _assign(uow, mentor: dict, fund: Fund) -> bool:
    """Record the mentor on the fund and announce it, only if the assignment is new."""
    session = uow.session
    statement = insert_ignoring_conflicts(session.get_bind().dialect.name, orm.mentor_funds)
    inserted = session.execute(statement.values(mentor_id=mentor["id"], fund_code=fund.code)).first()
    if inserted is None:  # already assigned (also when a concurrent request just did it)
        return False
    uow.publish(
        "MentorAssigned",
        {
            "mentor_id": mentor["id"],
            "mentor_name": mentor["name"],
            "level": mentor["level"],
            **fund.place(),
            "assigned_at": utcnow().isoformat(),
        },
        subject=fund.code,
    )
    return True


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
