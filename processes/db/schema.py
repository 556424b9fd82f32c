"""Every table of the product in one metadata: loads each package's `models` so nothing is missed."""

from __future__ import annotations

import sqlalchemy as sa

from processes.accounts import models as _accounts  # noqa: F401
from processes.audit import models as _audit  # noqa: F401
from processes.cases import models as _cases  # noqa: F401
from processes.db.base import Base
from processes.exchange import models as _exchange  # noqa: F401
from processes.integration import models as _integration  # noqa: F401
from processes.metrics import models as _metrics  # noqa: F401
from processes.open311 import models as _open311  # noqa: F401
from processes.reference import models as _reference  # noqa: F401
from processes.reports import models as _reports  # noqa: F401
from processes.runtime import models as _runtime  # noqa: F401

METADATA = Base.metadata


def sorted_tables() -> list[sa.Table]:
    """Return every table, parents before children (the order inserts need)."""
    return list(METADATA.sorted_tables)
