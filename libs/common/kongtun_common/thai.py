"""Thai presentation helpers: Buddhist Era dates and baht amounts for people."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

BE_OFFSET = 543
BANGKOK = ZoneInfo("Asia/Bangkok")

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)


def buddhist_year(year: int) -> int:
    return year + BE_OFFSET


def thai_date(day: date) -> str:
    """``date(2023, 12, 8)`` → ``8 ธันวาคม 2566``."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {buddhist_year(day.year)}"


def fiscal_year_be(day: date) -> int:
    """Thai fiscal year (B.E.) of a day: 1 October starts the next year."""
    return buddhist_year(day.year + 1 if day.month >= 10 else day.year)


def format_baht(satang: int) -> str:
    """``209156700`` → ``2,091,567.00``."""
    sign = "-" if satang < 0 else ""
    whole, fraction = divmod(abs(satang), 100)
    return f"{sign}{whole:,}.{fraction:02d}"
