"""Tables of the figures (统计): the rollup of the periods' counts the dashboard reads, and its refresh runs."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base


class MetricRollup(Base):
    """One day's numerator and denominator of one metric for one combination of the dimensions (统计汇总).

    '' stands for "none" in a dimension (a directly answered case has no lead department), so the key has no
    NULLs and the primary key can be the whole combination.
    """

    __tablename__ = "metric_rollup"

    # metric first: every dashboard query asks for one metric over a range of days
    metric: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    department: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    township: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    request_type: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    numerator: Mapped[int] = mapped_column(sa.BigInteger)
    denominator: Mapped[int] = mapped_column(sa.BigInteger)


class MetricRollupRun(Base):
    """One refresh of the rollup: which days, under which reading of the metrics (口径), when and how long."""

    __tablename__ = "metric_rollup_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # day / full
    first_day: Mapped[date] = mapped_column(sa.Date)
    last_day: Mapped[date] = mapped_column(sa.Date)
    reading: Mapped[str] = mapped_column(sa.String(64))  # MetricSettings.key() the counts were made under
    rows: Mapped[int]
    seconds: Mapped[float] = mapped_column(sa.Float)
    finished_at: Mapped[datetime] = mapped_column(index=True)


class MetricMarginal(Base):
    """One day's counts of one metric by at most two dimensions (边际汇总), summed from `metric_rollup`.

    `metric_rollup` holds about one row per counted item (the five dimensions together rarely repeat in a day), so a
    month of it is as long as a month of cases. The dashboard's questions mostly name at most two dimensions (a
    filter and a breakdown, or none): these rows answer them from a few rows per day. `grouping` names the
    dimensions, in `DIMENSIONS` order joined by '+' ('' for the whole office); `first` and `second` are their
    values ('' where the grouping has fewer).
    """

    __tablename__ = "metric_rollup_marginal"

    grouping: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    metric: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    first: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    second: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    numerator: Mapped[int] = mapped_column(sa.BigInteger)
    denominator: Mapped[int] = mapped_column(sa.BigInteger)
