"""Bulk awards from the pages: read an uploaded CSV, run it as a job with progress, keep its per-row report.

The job runs after the upload's response is sent (FastAPI background task) in chunks through
`issuer.services.awards.bulk_award`, the same function as the API's bulk endpoint, so every row
is judged on its own and running a file twice awards nobody twice. Progress is kept in the
database, so any worker can answer the status page. The report holds the learners' offer links
and PINs, so it is stored sealed under the master key, and deleted when those offers expire.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from issuer.admin_models import BulkAwardCreate
from issuer.pages.models import BulkAwardJob
from issuer.services import awards
from issuer.services.badges import load_badge_class
from issuer.services.common import Conflict, unix_now
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from schemas.oauth2 import NotFound, ProtocolError
from vc.keys import MasterKey

__all__ = ["CHUNK_ROWS", "MAX_ROWS", "BulkCsvError", "BulkJobView", "forget_expired_reports", "load_bulk_job",
           "read_award_csv", "report_csv", "run_bulk_job", "start_bulk_job"]

log = logging.getLogger(__name__)

CHUNK_ROWS = 100
MAX_ROWS = 20_000
#: A running job whose progress did not move for this long was cut off (its worker stopped).
STALE_SECONDS = 300
COLUMNS = ("name", "email", "eduid", "result")


class BulkCsvError(Exception):
    """The file cannot be used at all; `reason` is one of: encoding, header, empty, too_many."""

    def __init__(self, reason: Literal["encoding", "header", "empty", "too_many"]) -> None:
        super().__init__(reason)
        self.reason = reason


def read_award_csv(content: bytes) -> list[dict[str, Any]]:
    """The rows of a CSV with the header `name,email[,eduid][,result]` (comma or semicolon separated, UTF-8),
    each with its line number in the file."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BulkCsvError("encoding") from exc
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = {(f or "").strip().lower() for f in reader.fieldnames or ()}
    if not {"name", "email"} <= fields:
        raise BulkCsvError("header")
    rows: list[dict[str, Any]] = []
    for row in reader:
        if len(rows) == MAX_ROWS:
            raise BulkCsvError("too_many")
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        rows.append({"line": reader.line_num, **{column: clean.get(column) or None for column in COLUMNS}})
    if not rows:
        raise BulkCsvError("empty")
    return rows


def forget_expired_reports(*, session: Session, report_lifetime: int, now: int | None = None) -> None:
    """Delete the reports of jobs finished `report_lifetime` seconds ago (the offers' lifetime: their links and
    PINs no longer work). The counts stay. Run when a job starts (and `load_bulk_job` drops its own job's), so no
    scheduler is needed."""
    session.execute(update(BulkAwardJob)
                    .where(col(BulkAwardJob.finished_at) <= unix_now(now) - report_lifetime,
                           col(BulkAwardJob.report_sealed).is_not(None))
                    .values(report_sealed=None))
    session.commit()


def start_bulk_job(*, session: Session, principal: Principal, badge_class_id: int, file_name: str,
                   credential_format: str, pin: bool, total: int, report_lifetime: int,
                   now: int | None = None) -> int:
    """Record a new job for `total` rows (the caller then runs `run_bulk_job`); 409 for an archived badge class."""
    badge = load_badge_class(session=session, principal=principal, badge_class_id=badge_class_id)
    if badge.archived:
        raise Conflict("the badge class is archived: it can no longer be awarded")
    now = unix_now(now)
    forget_expired_reports(session=session, report_lifetime=report_lifetime, now=now)
    job = BulkAwardJob(badge_class_id=badge_class_id, institution_id=badge.institution_id,
                       staff_id=principal.staff_id, file_name=file_name[:200], format=credential_format, pin=pin,
                       total=total, created_at=now, updated_at=now)
    session.add(job)
    session.commit()
    assert job.id is not None
    return job.id


def run_bulk_job(*, engine: Engine, settings: IssuerSettings, master_key: MasterKey, principal: Principal,
                 job_id: int, rows: list[dict[str, Any]]) -> None:
    """Award every row, chunk by chunk, recording progress; end with the sealed report (or the failure)."""
    results: list[dict[str, Any]] = []
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(BulkAwardJob, job_id)
        assert job is not None
        try:
            for start in range(0, len(rows), CHUNK_ROWS):
                chunk = rows[start:start + CHUNK_ROWS]
                done = awards.bulk_award(session=session, principal=principal, badge_class_id=job.badge_class_id,
                                         data=BulkAwardCreate.model_validate(
                                             {"rows": chunk, "format": job.format, "pin": job.pin}),
                                         settings=settings)
                results += [r.model_dump() for r in done]
                _count(job, results)
                session.add(job)
                session.commit()
        except ProtocolError as exc:
            session.rollback()
            job.state, job.failure = "failed", (exc.description or exc.error)[:500]
        except Exception:  # noqa: BLE001 - a job must never stay "running" after a crash
            log.exception("bulk award job %s failed", job_id)
            session.rollback()
            job.state, job.failure = "failed", "internal error"
        else:
            job.state = "done"
        learners = {row["line"]: row for row in rows}
        report = [{**r, "name": learners[r["line"]]["name"], "email": learners[r["line"]]["email"]} for r in results]
        job.report_sealed = master_key.seal(json.dumps(report).encode(), _report_aad(job_id))
        job.finished_at = job.updated_at = unix_now()
        session.add(job)
        session.commit()


def _count(job: BulkAwardJob, results: list[dict[str, Any]]) -> None:
    job.processed = len(results)
    job.created = sum(r["status"] == "created" for r in results)
    job.existing = sum(r["status"] == "exists" for r in results)
    job.errors = sum(r["status"] == "error" for r in results)
    job.updated_at = unix_now()


def _report_aad(job_id: int) -> str:
    return f"bulk-award-report:{job_id}"


@dataclass(frozen=True)
class BulkJobView:
    """A job as its page shows it; `state` is running, done, failed or interrupted."""

    job: BulkAwardJob
    state: str
    report: list[dict[str, Any]]

    @property
    def report_removed(self) -> bool:
        """The job finished, and its report was deleted when its offers expired."""
        return self.job.finished_at is not None and self.job.report_sealed is None

    @property
    def poll_state(self) -> str:
        """Changes whenever the page would look different, so the waiting page reloads at each step."""
        return f"{self.state}:{self.job.processed}" if self.state == "running" else self.state


def load_bulk_job(*, session: Session, principal: Principal, master_key: MasterKey, job_id: int,
                  report_lifetime: int, now: int | None = None) -> BulkJobView:
    """A job of a badge class the principal may work on (404 otherwise), with its report once finished and
    until its offers expire."""
    job = session.get(BulkAwardJob, job_id)
    if job is None:
        raise NotFound(f"bulk award {job_id} not found")
    try:
        load_badge_class(session=session, principal=principal, badge_class_id=job.badge_class_id)
    except NotFound as exc:
        raise NotFound(f"bulk award {job_id} not found") from exc
    if job.report_sealed and job.finished_at is not None and job.finished_at <= unix_now(now) - report_lifetime:
        job.report_sealed = None  # its offers have expired (the status poll reads, and writes only here)
        session.add(job)
        session.commit()
    state = job.state
    if state == "running" and job.updated_at < unix_now(now) - STALE_SECONDS:
        state = "interrupted"
    report = json.loads(master_key.open(job.report_sealed, _report_aad(job_id))) if job.report_sealed else []
    return BulkJobView(job, state, report)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP "CSV injection")."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_csv(report: list[dict[str, Any]]) -> str:
    """The report as CSV: line, learner, status, award, and the offer link and PIN to send each learner."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "name", "email", "status", "award_id", "offer_uri", "tx_code", "error"])
    for r in report:
        writer.writerow([_cell(r.get(k)) for k in ("line", "name", "email", "status", "award_id", "offer_uri",
                                                   "tx_code", "error")])
    return out.getvalue()
