"""examples/walkthrough.py (the README's "Try it") works against the real processes, and again on a second run."""

import importlib.util
from datetime import date, timedelta
from pathlib import Path

from kongtun_common.thai import thai_date

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("kongtun_walkthrough", ROOT / "examples" / "walkthrough.py")
walkthrough = importlib.util.module_from_spec(spec)
spec.loader.exec_module(walkthrough)


def test_the_walkthrough_takes_a_project_to_approval_and_runs_again(api, capsys):
    token = api.http.headers["Authorization"].removeprefix("Bearer ")
    client = walkthrough.Api(api.base, token)
    first = walkthrough.walk(client)
    second = walkthrough.walk(client)  # the fund and its plan are reused; a second project is made
    assert first["budget_status"] == second["budget_status"] == "committed"
    assert first["owed"] == second["owed"] == 3  # ส.2 mid-project, ส.3 and ง.2 after the end
    assert first["project_id"] != second["project_id"]
    printed = capsys.readouterr().out
    assert "its approved plan for physical activity, from an earlier run" in printed
    final_due = thai_date(date.today() + timedelta(days=120 + 30))  # Thai month, Buddhist Era year
    assert f"รายงานผลการดำเนินงาน (ส.3): {final_due}" in printed
