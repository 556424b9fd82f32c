"""Run order imports: a whole file through `orders.Intake`, row by row, in a scheduler or from the command line."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from processes.accounts import pii
from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.exchange import import_jobs
from processes.exchange import platform_import
from processes.exchange.models import PlatformImport
from processes.runtime.core import Runtime
from webapp import runtime_of
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.platform.orders import CREATED
from webapp.platform.orders import DUPLICATE
from webapp.platform.orders import Intake
from webapp.platform.orders import NotDeployed
from webapp.platform.orders import Outcome

BATCH = 200  # rows between progress updates (and lease renewals)
COLUMNS = {CREATED: "created", DUPLICATE: "duplicates"}
NO_LONGER_ALLOWED = "上传者已无导入权限，未导入。"
Batch = Callable[[int, dict[str, int]], None]  # (rows done, counts so far)


def import_rows(intake: Intake, source: platform_import.Source, on_batch: Batch | None = None
                ) -> tuple[list[Outcome], dict[str, int]]:
    """Register every row of an opened file; return each row's outcome and the counts by outcome column."""
    outcomes: list[Outcome] = []
    counts = {"created": 0, "duplicates": 0, "refused": 0}
    for batch in _batched(source):
        intake.look_ahead(batch)
        for row in batch:
            outcome = intake.register(row)
            outcomes.append(outcome)
            counts[COLUMNS.get(outcome.outcome, "refused")] += 1
        if on_batch is not None:
            on_batch(len(outcomes), counts)
    return outcomes, counts


def _batched(source: platform_import.Source) -> Iterator[list[platform_import.Row]]:
    """Yield the file's rows BATCH at a time (streamed)."""
    rows = source.rows()
    while batch := list(itertools.islice(rows, BATCH)):
        yield batch


def run_job(app: Flask, job: PlatformImport, owner: str, *, lease: timedelta) -> None:
    """Import one claimed file; a file that cannot be read at all fails the job with the reason."""
    rt = runtime_of(app)
    try:
        content = import_jobs.unseal(job)
        source = platform_import.open_file(job.file_name, content, max_bytes=_limit(app, "BYTES"),
                                           max_rows=_limit(app, "ROWS"))
        role = _uploader_role(rt, job.requested_by)
        intake = Intake(rt, actor=job.requested_by, via="file", role=role, import_id=job.id)
    except (platform_import.FileRefused, NotDeployed, PermissionError) as exc:
        import_jobs.fail(rt, job.id, owner, str(exc))
        return
    except pii.PiiKeyError:
        import_jobs.fail(rt, job.id, owner, "上传的文件已无法解密（密钥已轮换），请重新上传。")
        return

    def report(done: int, counts: dict[str, int]) -> None:
        import_jobs.progress(rt, job.id, owner, done=done, total=max(source.total, done), counts=counts,
                             lease=lease)

    try:
        outcomes, counts = import_rows(intake, source, report)
    except import_jobs.LeaseLost:
        return  # another runner took it over and starts again; receipts keep rows from being registered twice
    import_jobs.finish(rt, job.id, owner, report=[o.as_list() for o in outcomes],
                       notes=[*job.notes, *source.notes], counts=counts)


def run_waiting(app: Flask, owner: str) -> int:
    """Run waiting imports one after another (a scheduler's periodic job); return how many."""
    rt = runtime_of(app)
    lease = timedelta(seconds=float(app.config["SCHEDULER_LEASE_SECONDS"]))
    count = 0
    with app.app_context():
        while (job := import_jobs.claim(rt, owner, lease=lease)) is not None:
            run_job(app, job, owner, lease=lease)
            count += 1
    return count


def _limit(app: Flask, what: str) -> int:
    return int(app.config[f"PLATFORM_IMPORT_MAX_{what}"])




def limits(app: Flask) -> tuple[int, int]:
    """Return the largest file in bytes and the most rows one import may hold."""
    return _limit(app, "BYTES"), _limit(app, "ROWS")


def _uploader_role(rt: Runtime, username: str) -> str:
    """Return the uploader's role allowed to import; refuse one disabled or no longer allowed meanwhile."""
    with rt.read() as db:
        user = db.scalar(sa.select(AppUser).where(AppUser.username == username))
        roles = frozenset(db.scalars(sa.select(UserRole.role).where(UserRole.user_id == user.id))) if user else None
    rule = RULES.get("platform.upload")
    if user is None or not user.active or not roles or not allowed(rule, signed_in=True, roles=roles):
        raise PermissionError(NO_LONGER_ALLOWED)
    return sorted(roles & rule)[0] if isinstance(rule, frozenset) else sorted(roles)[0]
