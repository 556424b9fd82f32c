"""The audit trail as CSV for auditors (审计导出): one column set and one cell rendering for the CLI and the web."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from processes.audit.record import HASHED

EXPORT_COLUMNS = (*HASHED, "seq", "chain_hash", "sealed_at")
# A cell starting with one of these is a formula to Excel and WPS (CSV injection); a leading ' makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """Render one CSV cell for auditors: JSON for summaries, ISO UTC for times, formulas neutralised."""
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    elif isinstance(value, Mapping | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
