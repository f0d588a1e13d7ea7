"""What the public API's schemas share: field rules and Thai examples for the OpenAPI document."""

from marshmallow import validate

FUND_CODE = validate.Regexp(r"^L[0-9]{4}$", error="Must be a fund code: L followed by four digits, e.g. L3363.")
THAI_TEXT = validate.Length(min=1, max=300)
OWNER_KINDS = ["health_unit", "lao_division", "state_agency", "non_health_agency", "citizen_group", "fund_secretariat"]
REPORTS = ["progress", "mentor_follow_up", "final", "financial", "financial_closing"]


def example(value):
    return {"metadata": {"example": value}}
