"""Realistic traffic through the gateway, for the fault and scale-out tests (and by hand).

Roles, each in its own threads (``threading`` and ``requests``; green threads under the tests' eventlet patching):

- **officers** create a proposal for one of the prepared funds and submit it;
- the **committee** approves a share of the submitted ones (the rest stay submitted);
- **runners** start an approved project once its budget is committed and send its first progress report;
- a **reader** reads the reporting summary and a fund's balance, as a dashboard would.

Bounded twice: officers stop after ``projects`` proposals or ``duration_s`` seconds, whichever comes first;
the other roles then finish their queues within ``drain_s`` seconds.

*Acknowledged* means the gateway answered 2xx: only then is the step recorded in :attr:`Traffic.acked`.
A 503 (with ``Retry-After``) or a dropped connection is retried by the same client a bounded number of times
(the driver waits at most ``retry_cap_s`` instead of the full Retry-After, to keep tests short). A step that was
applied although its answer was lost is not "acknowledged"; a retry then gets 409 and the driver reads the
project to learn its state. Failures are what a client must never see: a 5xx other than 503, a 503 without
Retry-After, or an unexpected 4xx.

    python bench/traffic.py --base http://127.0.0.1:8000 --token-file var/admin.token --fund L3363:<plan>:<indicator>
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import requests

TODAY = date.today()
START, END = TODAY - timedelta(days=60), TODAY + timedelta(days=120)
TRANSIENT = (502, 503, 504)


@dataclass(frozen=True)
class PreparedFund:
    """A fund with an approved plan (see tests/e2e/fund_setup.py) that proposals can be submitted against."""

    fund_code: str
    plan_id: str
    indicator_id: str
    fiscal_year: int = 2567
    issue: str = "physical_activity"


@dataclass
class Outcome:
    at: float  # seconds since the start of the run
    op: str
    status: int | str  # HTTP status, or "transport" (no answer: refused, reset, timeout)
    seconds: float
    retry_after: str | None = None


@dataclass
class ProjectRecord:
    """What the gateway acknowledged (2xx) for one project."""

    id: str
    fund_code: str
    requested_satang: int
    submitted: bool = False
    approved_satang: int | None = None
    code: str | None = None
    started: bool = False
    reports: list[tuple[str, int]] = field(default_factory=list)


def proposal(fund: PreparedFund, sequence: int, amount_baht: int, run: str = "") -> dict:
    """The ``sequence``-th proposal of a traffic ``run`` (named in its title, so a run's projects can be counted)."""
    amount = f"{amount_baht}.00"
    return {
        "fund_code": fund.fund_code,
        "title": f"โครงการส่งเสริมสุขภาพชุมชน ลำดับที่ {sequence}" + (f" ({run})" if run else ""),
        "fiscal_year": fund.fiscal_year,
        "issue": fund.issue,
        "spending_type": 2,
        "owner": {"name": "ชมรมผู้สูงอายุบ้านไร่", "kind": "citizen_group", "members": 25},
        "requested_amount": amount,
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "plan_id": fund.plan_id,
        "indicator_targets": [{"indicator_id": fund.indicator_id, "target": "60"}],
        "activities": [{"name": "เต้นแอโรบิกทุกเย็น", "start_date": START.isoformat(), "end_date": END.isoformat()}],
        "budget_lines": [{"group": "materials", "description": "ค่าวัสดุ", "amount": amount}],
        "entered_by": "นางสาวสมศรี ใจดี",
        "entered_by_role": "fund_officer",
    }


class Traffic:
    def __init__(
        self,
        base: str,
        token: str,
        funds: list[PreparedFund],
        *,
        projects: int = 200,
        duration_s: float = 60.0,
        officers: int = 4,
        committee: int = 2,
        runners: int = 1,
        readers: int = 1,
        approve_share: float = 0.7,
        drain_s: float = 60.0,
        request_timeout_s: float = 10.0,
        attempts: int = 6,
        retry_cap_s: float = 1.0,
        seed: int = 9,
    ):
        self.base = base.rstrip("/")
        self.token = token
        self.funds = funds
        self.max_projects = projects
        self.duration_s = duration_s
        self.counts = {"officer": officers, "committee": committee, "runner": runners, "reader": readers}
        self.approve_share = approve_share
        self.drain_s = drain_s
        self.request_timeout_s = request_timeout_s
        self.attempts = attempts
        self.retry_cap_s = retry_cap_s
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.acked: dict[str, ProjectRecord] = {}
        self.unacknowledged: list[str] = []  # ids applied although their answer was lost (learned by reading)
        self.outcomes: list[Outcome] = []
        self.failures: list[str] = []
        self.summaries_read = 0
        self._sequence = 0
        self.run_id = uuid.uuid4().hex[:12]  # names this run's Idempotency-Keys
        self._to_decide: queue.Queue = queue.Queue()
        self._to_run: queue.Queue = queue.Queue()
        self._officers_done = threading.Event()
        self._committee_left = threading.Event()
        self._active = {"officer": officers, "committee": committee}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at = 0.0
        self.elapsed = 0.0

    # ---- running -------------------------------------------------------------------------------------------
    def start(self) -> Traffic:
        self.started_at = time.monotonic()
        roles = {"officer": self._officer, "committee": self._committee, "runner": self._runner, "reader": self._reader}
        for role, count in self.counts.items():
            for number in range(count):
                thread = threading.Thread(target=roles[role], name=f"traffic-{role}-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def join(self) -> Traffic:
        limit = self.duration_s + self.drain_s + self.request_timeout_s * self.attempts
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        for thread in self._threads:
            thread.join(self.request_timeout_s + 1)
        self.elapsed = time.monotonic() - self.started_at
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        if stuck:
            self._fail(f"threads still running after the bound: {stuck}")
        return self

    def run(self) -> Traffic:
        return self.start().join()

    def stop(self) -> None:
        """Ask the officers to stop creating (the others drain)."""
        self._stop.set()

    # ---- HTTP ----------------------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def _now(self) -> float:
        return time.monotonic() - self.started_at

    def _fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(f"{self._now():7.2f}s {text}")

    def call(self, session, method: str, path: str, body=None, *, op: str, ok=(200, 201), headers=None):
        """One client action, retried on 503 / no answer. Returns the response, or None if it never got through.

        A 409 on a retry (the first attempt was applied but its answer lost) is returned to the caller."""
        for attempt in range(self.attempts):
            t0 = time.monotonic()
            try:
                response = session.request(
                    method, self.base + path, json=body, headers=headers, timeout=self.request_timeout_s
                )
            except requests.RequestException:
                with self.lock:
                    self.outcomes.append(Outcome(self._now(), op, "transport", time.monotonic() - t0))
                time.sleep(min(self.retry_cap_s, 0.5 * (attempt + 1)))
                continue
            seconds = time.monotonic() - t0
            retry_after = response.headers.get("Retry-After")
            with self.lock:
                self.outcomes.append(Outcome(self._now(), op, response.status_code, seconds, retry_after))
            status = response.status_code
            if status in ok:
                return response
            if status in TRANSIENT:
                if status != 503 or not retry_after:
                    self._fail(f"{op} {path}: {status} without Retry-After: {response.text[:200]}")
                time.sleep(min(self.retry_cap_s, float(retry_after or 1)))
                continue
            if status == 409 and attempt > 0:
                return response
            self._fail(f"{op} {path}: HTTP {status}: {response.text[:300]}")
            return None
        return None

    def _learn(self, session, project_id: str) -> dict | None:
        response = self.call(session, "GET", f"/api/v1/projects/{project_id}", op="read_project")
        return response.json() if response is not None else None

    # ---- roles ---------------------------------------------------------------------------------------------
    @property
    def creates_attempted(self) -> int:
        """Projects the officers set out to create (each at most once, thanks to its Idempotency-Key)."""
        with self.lock:
            return self._sequence

    def _next_sequence(self) -> int | None:
        with self.lock:
            if self._sequence >= self.max_projects:
                return None
            self._sequence += 1
            return self._sequence

    def _officer(self) -> None:
        session = self._session()
        try:
            while not self._stop.is_set() and self._now() < self.duration_s:
                sequence = self._next_sequence()
                if sequence is None:
                    break
                fund = self.funds[sequence % len(self.funds)]
                amount = 1000 + (sequence % 40) * 25  # baht: 1,000 - 1,975, varied so sums mean something
                key = {"Idempotency-Key": f"traffic-{self.run_id}-{sequence}"}  # a retry creates nothing more
                body = proposal(fund, sequence, amount, self.run_id)
                created = self.call(session, "POST", "/api/v1/projects", body, op="create", headers=key)
                if created is None or created.status_code != 201:
                    continue  # never acknowledged (it may still exist: its key makes it at most one project)
                project = created.json()
                record = ProjectRecord(project["id"], fund.fund_code, amount * 100)
                with self.lock:
                    self.acked[record.id] = record
                submitted = self.call(
                    session, "POST", f"/api/v1/projects/{record.id}/submit", {"by": "ชมรมผู้สูงอายุบ้านไร่"}, op="submit"
                )
                if submitted is None:
                    continue
                if submitted.status_code == 409:  # applied, answer lost
                    current = self._learn(session, record.id)
                    if current is None or current["status"] != "submitted":
                        continue
                    with self.lock:
                        self.unacknowledged.append(f"submit {record.id}")
                else:
                    record.submitted = True
                self._to_decide.put((record, sequence))
        finally:
            self._leave("officer", self._officers_done)
            session.close()

    def _leave(self, role: str, done: threading.Event) -> None:
        with self.lock:
            self._active[role] -= 1
            if self._active[role] <= 0:
                done.set()

    def _draining(self, source: queue.Queue, upstream_done) -> object | None:
        """The next item, or None once upstream is done and the queue stayed empty (or the drain ran out)."""
        while True:
            try:
                return source.get(timeout=0.2)
            except queue.Empty:
                if self._now() > self.duration_s + self.drain_s:
                    return None
                if upstream_done():
                    return None

    def _committee(self) -> None:
        session = self._session()
        try:
            while True:
                item = self._draining(self._to_decide, self._officers_done.is_set)
                if item is None:
                    return
                record, sequence = item
                if (sequence * 7919) % 100 >= self.approve_share * 100:
                    continue  # stays submitted
                body = {
                    "approved_amount": f"{record.requested_satang // 100}",
                    "approved_by": "คณะกรรมการกองทุน",
                    "meeting_ref": f"ครั้งที่ {sequence}/2567",
                    "periods": 2,
                }
                approved = self.call(session, "POST", f"/api/v1/projects/{record.id}/approve", body, op="approve")
                if approved is None:
                    continue
                if approved.status_code == 409:
                    current = self._learn(session, record.id)
                    if current is None or current["status"] != "approved":
                        continue
                    with self.lock:
                        self.unacknowledged.append(f"approve {record.id}")
                else:
                    record.approved_satang = record.requested_satang
                    record.code = approved.json().get("code")
                self._to_run.put((record, time.monotonic()))
        finally:
            self._leave("committee", self._committee_left)
            session.close()

    def _committee_done(self) -> bool:
        return self._committee_left.is_set()

    def _runner(self) -> None:
        session = self._session()
        try:
            while True:
                item = self._draining(self._to_run, self._committee_done)
                if item is None:
                    return
                record, since = item
                current = self._learn(session, record.id)
                if current is None:
                    continue
                if current["budget_status"] != "committed" or current["status"] != "approved":
                    if current["budget_status"] in ("pending",) and time.monotonic() - since < 30:
                        time.sleep(0.2)
                        self._to_run.put((record, since))  # not yet: look again later
                    continue
                started = self.call(session, "POST", f"/api/v1/projects/{record.id}/start", op="start")
                if started is None:
                    continue
                if started.status_code == 409:
                    current = self._learn(session, record.id)
                    if current is None or current["status"] != "running":
                        continue
                else:
                    record.started = True
                report = {"report": "progress", "period": 1, "content": {"participants": 40 + len(record.id) % 9}}
                sent = self.call(
                    session, "POST", f"/api/v1/projects/{record.id}/reports", report, op="report", ok=(201,)
                )
                if sent is not None and sent.status_code == 201:
                    record.reports.append(("progress", 1))
        finally:
            session.close()

    def _reader(self) -> None:
        session = self._session()
        try:
            while not self._stop.is_set() and not self._committee_done():
                if self._now() > self.duration_s + self.drain_s:
                    return
                fund = self.funds[self.random.randrange(len(self.funds))]
                self.call(session, "GET", "/api/v1/reporting/summary", op="summary", ok=(200,))
                self.call(
                    session,
                    "GET",
                    f"/api/v1/funds/{fund.fund_code}/balance?fiscal_year={fund.fiscal_year}",
                    op="balance",
                    ok=(200,),
                )
                with self.lock:
                    self.summaries_read += 1
                time.sleep(0.2)
        finally:
            session.close()

    # ---- results -------------------------------------------------------------------------------------------
    def statuses(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        with self.lock:
            for outcome in self.outcomes:
                counted[str(outcome.status)] = counted.get(str(outcome.status), 0) + 1
        return counted

    def summary(self) -> dict:
        records = list(self.acked.values())
        return {
            "elapsed_s": round(self.elapsed, 1),
            "requests": len(self.outcomes),
            "statuses": self.statuses(),
            "created": len(records),
            "submitted": sum(record.submitted for record in records),
            "approved": sum(record.approved_satang is not None for record in records),
            "started": sum(record.started for record in records),
            "reports": sum(len(record.reports) for record in records),
            "summaries_read": self.summaries_read,
            "applied_without_ack": len(self.unacknowledged),
            "failures": len(self.failures),
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--token-file", default="var/admin.token")
    parser.add_argument("--fund", action="append", required=True, help="fund_code:plan_id:indicator_id (repeatable)")
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--officers", type=int, default=4)
    args = parser.parse_args(argv)
    with open(args.token_file, encoding="utf-8") as handle:
        token = handle.read().strip()
    funds = [PreparedFund(*spec.split(":", 2)) for spec in args.fund]
    traffic = Traffic(args.base, token, funds, projects=args.projects, duration_s=args.duration, officers=args.officers)
    traffic.run()
    print(json.dumps(traffic.summary(), ensure_ascii=False, indent=2))
    for failure in traffic.failures[:20]:
        print("FAILURE", failure, file=sys.stderr)
    return 1 if traffic.failures else 0


if __name__ == "__main__":
    sys.exit(main())
