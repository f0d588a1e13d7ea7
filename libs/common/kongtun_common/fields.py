"""Marshmallow fields shared by the boundaries: money in baht with satang precision."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields

MAX_BAHT = Decimal("100000000000")  # 10^11 baht: beyond any fund's budget


class Baht(fields.Field):
    """Baht on the wire (``"12500.50"`` or ``12500.5``), integer satang inside.

    Refuses negatives, more than two decimals (no fraction of a satang), non-numbers.
    """

    default_error_messages = {
        "invalid": "Must be an amount in baht, e.g. 12500.50.",
        "negative": "Must not be negative.",
        "precision": "Must have at most two decimals (satang).",
        "too_large": "Must not exceed 100,000,000,000 baht.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite():
            raise self.make_error("invalid")
        if amount < 0:
            raise self.make_error("negative")
        if amount > MAX_BAHT:
            raise self.make_error("too_large")
        satang = amount * 100
        if satang != satang.to_integral_value():
            raise self.make_error("precision")
        return int(satang)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        whole, fraction = divmod(int(value), 100)
        return f"{whole}.{fraction:02d}"


def load_or_raise(schema, payload) -> dict:
    """Load with a marshmallow schema; raise InvalidInput naming every bad field."""
    from .errors import InvalidInput, flatten_marshmallow_errors

    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidInput(flatten_marshmallow_errors(exc.messages)) from None
