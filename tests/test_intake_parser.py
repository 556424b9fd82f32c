"""Reading orders pasted from the 民呼我为 platform (受理件转录): realistic copies, JSON exports and bad input."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from processes.cases.upstream_order import EXPECTED
from processes.cases.upstream_order import parse_deadline
from processes.cases.upstream_order import parse_order

PAGE_COPY = """浙江省民呼我为统一平台
工单编号：ZJ2026112500123
派单时间：2026-11-25 08:40:12
诉求人：张三
联系电话：13812345678
诉求类型：投诉
诉求内容：元觉街道状元南片菜市场门口占道经营严重，
早上七点到九点车辆无法通行，
多次反映未解决。
发生地址：洞头区元觉街道状元南片菜市场
截止时间：2026-11-30 12:00:00
"""
TABLE_COPY = "工单编号\tZJ7\t诉求人\t王五\n联系电话\t0577-63480000\t办结时限\t2026/12/01 17:30\n" \
             "诉求内容\t海堤护栏松动\t发生地址\t霓屿街道海堤\n"
EXPORT = {"code": 0, "msg": "ok", "data": {"gdbh": "ZJ2026112500124", "sqr": "李四", "lxdh": "139 1234 5678",
                                           "sqnr": "路灯坏了三天", "fsdz": "东屏街道东沙村", "jzsj": 1796099400000,
                                           "sqmd": "03", "extra": {"pfsj": "2026-11-25"}}}


def local(text: str) -> datetime:
    """An aware Beijing time."""
    return datetime.fromisoformat(text + "+08:00")


def test_a_copied_order_page_fills_every_field() -> None:
    parsed = parse_order(PAGE_COPY)
    assert parsed.fields == {
        "upstream_order_id": "ZJ2026112500123", "requester_name": "张三", "requester_phone": "13812345678",
        "request_type": "complaint", "location": "洞头区元觉街道状元南片菜市场",
        "content": "元觉街道状元南片菜市场门口占道经营严重，\n早上七点到九点车辆无法通行，\n多次反映未解决。",
        "upstream_deadline": "2026-11-30T12:00:00+08:00"}
    assert parsed.deadline == local("2026-11-30T12:00:00")
    assert parsed.missing == []
    assert parsed.problems == ["有 2 行未能识别，请核对后手工填写。"]  # the page title and 派单时间


def test_table_cells_copied_with_tabs() -> None:
    parsed = parse_order(TABLE_COPY)
    assert parsed.fields["upstream_order_id"] == "ZJ7" and parsed.fields["requester_phone"] == "0577-63480000"
    assert parsed.deadline == local("2026-12-01T17:30:00") and parsed.fields["location"] == "霓屿街道海堤"
    assert parsed.missing == [] and parsed.problems == []


def test_a_json_export_with_a_wrapper_epoch_deadline_and_purpose_code() -> None:
    parsed = parse_order(json.dumps(EXPORT, ensure_ascii=False))
    assert parsed.fields["upstream_order_id"] == "ZJ2026112500124"
    assert parsed.fields["requester_phone"] == "139 1234 5678" and parsed.fields["request_type"] == "help"
    assert parsed.deadline == local("2026-12-01T12:30:00")
    assert parsed.missing == [] and parsed.problems == ["未使用的项：code、msg、pfsj"]


def test_a_list_export_takes_the_first_order_and_says_so() -> None:
    parsed = parse_order(json.dumps([{"工单编号": "A1", "诉求内容": "一"}, {"工单编号": "A2"}], ensure_ascii=False))
    assert parsed.fields == {"upstream_order_id": "A1", "content": "一"}
    assert "包含 2 张工单，只填入第一张。" in parsed.problems


@pytest.mark.parametrize(("text", "problem"), [
    ("", "没有粘贴内容。"),
    ("   \n\t ", "没有粘贴内容。"),
    ('{"gdbh": "ZJ1", ', "内容像 JSON 但格式有误（第 1 行），已按文本逐行识别。"),
    ("[1, 2, 3]", "JSON 中没有工单对象。"),
    ('"just a string"', "有 1 行未能识别，请核对后手工填写。"),
    ("x" * 50_001, "粘贴内容过长（超过 50000 字），请只复制一张工单。"),
    ("截止时间：三个工作日内", "「截止时间」无法识别为日期时间：三个工作日内"),
    ("截止时间：2026-02-30 10:00", "「截止时间」无法识别为日期时间：2026-02-30 10:00"),
    ("联系电话：打不通", "「联系电话」不像电话号码，请手工填写。"),
    ("工单编号：ZJ 2026/11", "「工单编号」格式不正确：ZJ 2026/11"),
    ("诉求类型：吐槽", "「诉求类型」无法对应：吐槽"),
])
def test_bad_input_becomes_a_problem_never_an_error(text: str, problem: str) -> None:
    parsed = parse_order(text)
    assert problem in parsed.problems
    assert set(parsed.missing) <= set(EXPECTED)


def test_broken_json_is_still_read_line_by_line() -> None:
    parsed = parse_order('{\n  "gdbh": "ZJ1",\n  "sqnr": "路灯不亮",\n  "lxdh": "13812345678"\n')
    assert parsed.fields == {"upstream_order_id": "ZJ1", "content": "路灯不亮", "requester_phone": "13812345678"}


def test_several_phones_take_the_first_and_repeated_labels_the_first() -> None:
    parsed = parse_order("联系电话：13812345678，13900001111\n工单编号：A1\n工单编号：A2")
    assert parsed.fields["requester_phone"] == "13812345678" and parsed.fields["upstream_order_id"] == "A1"
    assert "有多个联系电话，已填入第一个。" in parsed.problems
    assert "「工单编号」出现多次，已使用第一处。" in parsed.problems


def wide(text: str) -> str:
    """The text in full-width characters, as a Chinese input method types them."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def test_full_width_labels_digits_and_bracketed_labels() -> None:
    parsed = parse_order(f"【工单编号】{wide('ZJ2026')}\n联系电话：{wide('13812345678')}\n 发生地址 ： 北岙街道")
    assert parsed.fields == {"upstream_order_id": "ZJ2026", "requester_phone": "13812345678", "location": "北岙街道"}


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-30 12:00:00", "2026-11-30T12:00:00"),
    ("2026-11-30T12:00", "2026-11-30T12:00:00"),
    ("2026/11/30 8:05", "2026-11-30T08:05:00"),
    ("2026年11月30日 12时30分", "2026-11-30T12:30:00"),
    ("2026年11月30日12:30", "2026-11-30T12:30:00"),
    ("2026-11-30", "2026-11-30T23:59:59"),  # a day alone: its end
    ("2026年12月1日", "2026-12-01T23:59:59"),
    ("2026.12.01 24:00", "2026-12-01T23:59:59"),
    ("1796099400", "2026-12-01T12:30:00"),
])
def test_deadlines_as_the_platform_writes_them(text: str, expected: str) -> None:
    assert parse_deadline(text) == local(expected)


def test_a_deadline_with_its_zone_keeps_it() -> None:
    assert parse_deadline("2026-11-30T04:00:00Z") == local("2026-11-30T12:00:00")


@pytest.mark.parametrize("text", ["", "明天", "3个工作日", "2026-13-01", "1899-01-01", "99999999999999", "12:00"])
def test_unreadable_deadlines_are_none(text: str) -> None:
    assert parse_deadline(text) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.builds(json.dumps, st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["gdbh", "工单编号", "联系电话", "jzsj", "sqnr", "data", "x"]), inner, max_size=5), max_leaves=20)))
def test_anything_pasted_parses_without_raising(text: str) -> None:
    parsed = parse_order(text)
    assert set(parsed.missing) <= set(EXPECTED)
    assert all(isinstance(v, str) for v in parsed.fields.values())
