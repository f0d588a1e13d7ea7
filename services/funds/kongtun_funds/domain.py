"""The fund registry's domain: plain Python, no framework."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from kongtun_common.errors import InvalidInput

FUND_CODE = re.compile(r"^L[0-9]{4}$")


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


def register_fund(details: dict, deployment_region: int, now: datetime) -> Fund:
    """A new fund of this deployment's region; refuses a fund of another region."""
    region = details.get("region") or deployment_region
    if region != deployment_region:
        raise InvalidInput({"region": [f"This deployment serves NHSO region {deployment_region}, not {region}."]})
    if not FUND_CODE.match(details["code"]):
        raise InvalidInput({"code": ["Must be L followed by four digits, e.g. L3363."]})
    return Fund(
        code=details["code"],
        name_th=details["name_th"],
        name_en=details.get("name_en"),
        subdistrict=details["subdistrict"],
        district=details["district"],
        province=details["province"],
        region=region,
        registered_at=now,
    )
