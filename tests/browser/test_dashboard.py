"""An analyst opens the dashboard (数据看板) in Chromium: charts drawn with the server's numbers, a figure drills down.

昆鹏街道 gets 400 finished cases of the last five weeks from the benchmark's seeder (no other browser test uses this
township; finished cases stay off worklists and the board), the rollup is counted, and the analyst opens the
dashboard narrowed to it. Every chart's canvas has paint on it and its Chart instance holds the figures of
/dashboard/data; the totals agree with counting the cases; a click on the breakdown chart and on a figure of the
table each open the cases behind it, as many as the figure says. The page is saved beside the test (and to
docs/screenshots/dashboard.png with HOTLINE_SCREENSHOTS=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from bench.seed_load import office_of
from bench.seed_rows import CaseRows
from bench.seed_rows import Maker
from bench.seed_rows import Office
from processes.db.base import Base
from processes.metrics import Filters
from processes.metrics import Period
from processes.metrics import figures
from processes.metrics import rollup
from processes.metrics.periods import office_day
from tests.browser.conftest import LiveServer
from tests.browser.conftest import login
from tests.browser.test_deadline_verdicts import shot
from tests.lifecycle_support import at
from tests.web_support import add_user
from webapp import runtime_of

pytestmark = pytest.mark.browser
TOWN = "kunpeng"
CASES = 400
NOW = at("2026-11-25T09:00:00")


@pytest.fixture(scope="module")
def office(live_server: LiveServer) -> Iterator[None]:
    """The township's finished cases, the rollup over them, and the analyst."""
    live_server.clock.now = NOW
    rt = runtime_of(live_server.app)
    with rt.writer.begin() as conn:
        found = office_of(conn)
        maker = Maker(Office(found.definitions, found.departments[:8], [TOWN], found.numbers), NOW, 2026, 36)
        rows = CaseRows()
        for _ in range(CASES):
            maker.add(rows, None)
        for name, values in rows.of.items():
            if values:
                conn.execute(Base.metadata.tables[name].insert(), values)
    today = office_day(NOW)
    with rt.write() as db, db.begin():
        rollup.refresh(db, today - timedelta(days=40), today, now=NOW)
    add_user(live_server.app, "db.ana", "analyst", real_name="吴分析")
    yield


def chart_state(page: Page) -> dict[str, Any]:
    """Return, per chart, how many canvas pixels are painted and the numbers its Chart instance holds."""
    state: dict[str, Any] = page.evaluate("""() => {
      const out = {};
      for (const [name, chart] of Object.entries(window.hotlineDashboard.charts)) {
        const canvas = chart.canvas;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted++; } }
        out[name] = {painted: painted, labels: chart.data.labels,
                     datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data}))};
      }
      return out;
    }""")
    return state


def test_the_dashboard_draws_the_server_s_numbers_and_drills_down(browser: Browser, live_server: LiveServer,
                                                                  office: None, tmp_path: Path) -> None:
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1360, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login(page, "db.ana")
    page.goto(f"/dashboard/?township={TOWN}")
    page.wait_for_function("() => window.hotlineDashboard && Object.keys(window.hotlineDashboard.charts).length == 4")
    page.wait_for_timeout(800)  # Chart.js animates the first draw
    data = page.request.get(f"/dashboard/data?township={TOWN}").json()
    charts = chart_state(page)

    assert set(charts) == {"breakdown", "trend", "daily", "weekly"}
    assert all(chart["painted"] > 2000 for chart in charts.values()), {k: v["painted"] for k, v in charts.items()}
    breakdown = charts["breakdown"]
    assert breakdown["labels"] == [row["label"] for row in data["breakdown"]]
    assert breakdown["datasets"][0]["data"] == [row["rate"] for row in data["breakdown"]]
    assert len(breakdown["labels"]) == 8  # the eight units the cases went to
    trend = {d["label"]: d["data"] for d in charts["trend"]["datasets"]}
    assert trend == {s["name"]: [p["rate"] for p in s["points"]] for s in data["trend"]["series"]}
    daily = sum(sum(v or 0 for v in d["data"]) for d in charts["daily"]["datasets"])
    weekly = sum(sum(v or 0 for v in d["data"]) for d in charts["weekly"]["datasets"])
    totals = {t["code"]: t for t in data["totals"]}
    assert daily == weekly == totals["volume"]["numerator"] > 200

    rt = runtime_of(live_server.app)
    today = office_day(NOW)
    with rt.read() as db:  # the rollup the page shows agrees with counting the cases
        direct = {f.metric: (f.numerator, f.denominator) for f in figures(
            db, Period(today - timedelta(days=29), today), filters=Filters(township=TOWN), now=NOW)}
    assert {code: (t["numerator"], t["denominator"]) for code, t in totals.items() if t["denominator"]} == direct
    assert 85 <= totals["satisfied"]["rate"] <= 97 and 88 <= totals["ontime"]["rate"] <= 100
    shot(page, tmp_path, "dashboard.png")

    first = data["breakdown"][0]  # a click on the first bar opens the cases behind its numerator (按时办结)
    page.locator("#chart-breakdown").scroll_into_view_if_needed()
    box = page.locator("#chart-breakdown").bounding_box()
    assert box is not None
    x, y = page.evaluate("""() => { const bar = window.hotlineDashboard.charts.breakdown.getDatasetMeta(0).data[0];
                                    return [bar.x, (bar.y + bar.base) / 2]; }""")
    with page.expect_navigation():
        page.mouse.click(box["x"] + x, box["y"] + y)
    assert "/dashboard/cases" in page.url and "part=numerator" in page.url and f"township={TOWN}" in page.url
    expect(page.locator("table[data-total]")).to_have_attribute("data-total", str(first["numerator"]))
    expect(page.locator("tr.case-line")).to_have_count(min(50, first["numerator"]))

    page.goto(f"/dashboard/?township={TOWN}")  # a figure of the table: 满意率's denominator (有效评价)
    with page.expect_navigation():
        page.locator("tr[data-metric='satisfied'] td a").nth(1).click()
    expect(page.locator("table[data-total]")).to_have_attribute("data-total",
                                                                str(totals["satisfied"]["denominator"]))
    expect(page.locator("h1")).to_contain_text("满意率")
    assert errors == []
    context.close()

