"""The metrics' reading (统计口径) on the settings page: listed, checked in Chinese, saved and read by the figures."""

from __future__ import annotations

import re

import pytest

from handlers.reference.settings import SETTINGS
from handlers.reference.settings import parse_setting
from processes.metrics import read_settings
from tests.test_reference_pages import sysadmin
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

READINGS = ("metrics_basic_satisfied", "metrics_repeats", "metrics_period_date")
ROW_VERSION = re.compile(r'data-setting="metrics_repeats">.*?name="version" value="([0-9a-f]+)"', re.S)


def test_the_readings_parse_as_the_metrics_read_them() -> None:
    assert {name: SETTINGS[name].default for name in READINGS} == {
        "metrics_basic_satisfied": "true", "metrics_repeats": "once", "metrics_period_date": "event"}
    assert parse_setting("metrics_basic_satisfied", "否") is False
    assert parse_setting("metrics_repeats", " Each ") == "each"
    assert parse_setting("metrics_period_date", "received") == "received"
    for name, wrong in (("metrics_basic_satisfied", "maybe"), ("metrics_repeats", "twice"),
                        ("metrics_period_date", "closed")):
        with pytest.raises(ValueError, match=name):
            parse_setting(name, wrong)


def test_the_settings_page_lists_checks_and_saves_a_reading(ws: Workspace) -> None:
    admin = sysadmin(ws)
    page = text(admin.get("/reference/settings"))
    for name in READINGS:
        assert f'data-setting="{name}"' in page
    assert "基本满意是否计为满意" in page and "全量重算" in page
    found = ROW_VERSION.search(page)
    assert found
    version = found.group(1)
    wrong = post_form(admin, "/reference/settings/metrics_repeats", {"value": "twice", "version": version},
                      page="/reference/")
    assert wrong.status_code == 400 and "须为 once（按工单计一次）或 each（按每次计）" in text(wrong)
    with ws.office.rt.read() as db:
        assert read_settings(db).repeats == "once"
    done = post_form(admin, "/reference/settings/metrics_repeats", {"value": "each", "version": version,
                                                                     "step": "apply"},
                     page="/reference/", follow_redirects=True)
    assert done.status_code == 200
    with ws.office.rt.read() as db:
        assert read_settings(db).repeats == "each"
    row = audit_rows(ws.app, "reference.settings")[-1]
    # The row may be absent (default) or stored by an earlier reading of the office; either way it read "once".
    assert (row["actor"], row["after"]["value"]) == ("admin1", "each")
    assert row["before"] in (None, {"name": "metrics_repeats", "value": "once"})
