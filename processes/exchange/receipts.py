"""Received upstream orders (上级工单回执): one row per order number, so an order becomes one case only.

Why a table with a unique key and not a look at `hotline_case.upstream_order_id`: two pushes of one order at the
same moment both find nothing; only a unique constraint lets exactly one of them commit. The receipt is written
in the registration's own transaction, so a receipt always names a case that exists.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from processes.cases.models import Case
from processes.exchange.models import UpstreamReceipt

PLATFORM = "platform"


class DuplicateOrder(Exception):
    """The order number was received already (perhaps a moment ago by a concurrent push)."""


def earlier(db: Session | Connection, order_no: str, source: str = PLATFORM) -> tuple[str, str | None] | None:
    """Return (case number, import id) of the case an order already became, or None.

    A platform case registered by hand (受理件转录) with the same number counts too, so an order typed in before the
    file arrived is not registered twice.
    """
    row = db.execute(sa.select(UpstreamReceipt.case_number, UpstreamReceipt.import_id).where(
        UpstreamReceipt.source == source, UpstreamReceipt.order_no == order_no)).first()
    if row is not None:
        return row.case_number, row.import_id
    if source != PLATFORM:
        return None
    number = db.execute(sa.select(Case.number).where(Case.upstream_order_id == order_no,
                                                     Case.channel == "platform").limit(1)).scalar()
    return (number, None) if number is not None else None


def earlier_many(db: Session | Connection, orders: Collection[str], source: str = PLATFORM
                 ) -> dict[str, tuple[str, str | None]]:
    """Return `earlier` for many order numbers at once (those found only): two queries per 500 numbers."""
    found: dict[str, tuple[str, str | None]] = {}
    ordered = sorted(orders)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for row in db.execute(sa.select(UpstreamReceipt.order_no, UpstreamReceipt.case_number,
                                        UpstreamReceipt.import_id).where(UpstreamReceipt.source == source,
                                                                         UpstreamReceipt.order_no.in_(chunk))):
            found[row.order_no] = (row.case_number, row.import_id)
        rest = [o for o in chunk if o not in found]
        if source == PLATFORM and rest:
            for case in db.execute(sa.select(Case.upstream_order_id, Case.number).where(
                    Case.upstream_order_id.in_(rest), Case.channel == "platform")):
                found.setdefault(str(case.upstream_order_id), (case.number, None))
    return found


def record(conn: Connection, *, order_no: str, case_id: str, case_number: str, via: str, actor: str,
           now: datetime, import_id: str | None = None, source: str = PLATFORM) -> None:
    """Write the receipt in the registration's transaction; raise DuplicateOrder if the number is taken.

    In a savepoint, so that on PostgreSQL the unique violation of a concurrent push can be turned into
    DuplicateOrder instead of leaving the transaction aborted (the caller's transaction then rolls back whole).
    """
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(UpstreamReceipt).values(
                source=source, order_no=order_no, case_id=case_id, case_number=case_number, via=via,
                import_id=import_id, received_by=actor[:64], received_at=now))
    except IntegrityError as exc:
        raise DuplicateOrder(order_no) from exc
