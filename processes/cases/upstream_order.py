"""Read an order copied from the 民呼我为 platform (受理件转录) into intake fields; never raises on bad input.

Transcribers copy an order from the provincial platform's web page (label: value lines, or table cells separated
by tabs) or its JSON export and paste it into the transcription screen. This module finds the fields the intake
form needs (工单编号, 诉求人, 联系电话, 诉求内容, 发生地址, 截止时间/办结时限 …), normalises them, and says what
it could not read, so the transcriber fills the rest by hand. It never logs or stores what was pasted.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import time
from typing import Any

from processes.accounts import pii
from processes.clock import OFFICE_TZ

LOCAL = OFFICE_TZ
MAX_CHARS = 50_000
MAX_DEPTH = 4
# Labels as the platform and its exports write them, by intake field (compared after `_label`).
ALIASES: dict[str, tuple[str, ...]] = {
    "upstream_order_id": ("工单编号", "工单号", "市级编号", "省级编号", "交办编号", "交办单号", "单号", "编号",
                          "orderno", "orderid", "caseno", "caseid", "gdbh", "workorderno"),
    "upstream_deadline": ("截止时间", "办结时限", "办理时限", "限办时间", "办结期限", "截止日期", "办理期限",
                          "deadline", "jzsj", "bjsx", "dueat", "duetime", "limittime"),
    "requester_name": ("诉求人", "诉求人姓名", "来电人", "来电人姓名", "来信人", "反映人", "姓名", "联系人",
                       "name", "sqr", "sqrxm", "requestername", "contactname"),
    "requester_phone": ("联系电话", "联系方式", "手机", "手机号", "手机号码", "电话", "来电号码", "诉求人电话",
                        "phone", "mobile", "tel", "telephone", "lxdh", "sjhm", "contactphone"),
    "requester_address": ("联系地址", "家庭住址", "住址", "通讯地址", "诉求人地址", "requesteraddress", "lxdz"),
    "location": ("发生地址", "事发地址", "事发地点", "发生地点", "问题地址", "问题发生地", "地址", "address",
                 "location", "fsdz", "sfdd"),
    "title": ("诉求标题", "工单标题", "标题", "主题", "title", "subject", "bt"),
    "content": ("诉求内容", "内容", "问题描述", "诉求描述", "反映内容", "来电内容", "事项描述", "具体内容",
                "content", "description", "sqnr", "nr"),
    "request_type": ("诉求类型", "诉求目的", "来电目的", "工单类型", "类型", "type", "requesttype", "sqlx", "sqmd"),
}
# The fields a transcriber expects from every order (the rest are welcome but often absent).
EXPECTED = ("upstream_order_id", "requester_name", "requester_phone", "content", "location", "upstream_deadline")
MULTILINE = frozenset({"content", "location", "title", "requester_address"})
# 12345 request types and the Zhejiang platform's purpose codes (domain.md §4) to our codes.
REQUEST_TYPES = {"咨询": "consult", "求助": "help", "求决": "help", "投诉": "complaint", "申诉": "complaint",
                 "举报": "report", "建议": "suggestion", "意见建议": "suggestion", "表扬": "praise", "感谢": "praise",
                 "其他": "other", "98": "consult", "01": "suggestion", "02": "complaint", "03": "help", "99": "other"}
ORDER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_BY_LABEL = {label: name for name, labels in ALIASES.items() for label in labels}
_LINE_RE = re.compile(r"^\s*[【\[]?\s*([^:：\t【】\[\]]{1,16}?)\s*[】\]]?\s*(?:[:：\t]|(?<=[】\]]))\s*(.*)$")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[T\s]*(\d{1,2})\s*[:时点]\s*(?:(\d{1,2})\s*分?)?\s*(?:[:]?\s*(\d{1,2})\s*秒?)?)?\s*$")


@dataclass
class ParsedOrder:
    """What a pasted order gave: form values by field, the fields not found and problems to show."""

    fields: dict[str, str] = field(default_factory=dict)
    deadline: datetime | None = None
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _label(text: str) -> str:
    """Normalise a label or key: full-width to ASCII, lower case, no spaces, _ or -."""
    return re.sub(r"[\s_\-*\"'{}]", "", unicodedata.normalize("NFKC", text)).lower().rstrip(":")


def parse_order(text: str | None) -> ParsedOrder:
    """Parse a pasted order (JSON or label: value text) into intake form values; problems say what failed."""
    out = ParsedOrder()
    raw = (text or "").replace("\x00", "")
    if not raw.strip():
        out.problems.append("没有粘贴内容。")
        out.missing = list(EXPECTED)
        return out
    if len(raw) > MAX_CHARS:
        out.problems.append(f"粘贴内容过长（超过 {MAX_CHARS} 字），请只复制一张工单。")
        out.missing = list(EXPECTED)
        return out
    pairs = _json_pairs(raw, out) if raw.lstrip()[:1] in ("{", "[") else None
    if pairs is None:
        pairs = _text_pairs(raw, out)
    return read_pairs(pairs, out)


def field_of(label: str) -> str | None:
    """Return the intake field a platform label or key names (工单编号 → upstream_order_id), None if unknown."""
    return _BY_LABEL.get(_label(label))


def read_pairs(pairs: Iterable[tuple[str, str]], out: ParsedOrder | None = None) -> ParsedOrder:
    """Check and normalise (field, value) pairs of one order: a pasted one, a file row or a pushed object."""
    out = out if out is not None else ParsedOrder()
    found: dict[str, str] = {}
    for name, value in pairs:
        value = value.strip()
        if not value:
            continue
        if name in found:
            if found[name] != value:
                out.problems.append(f"「{_title(name)}」出现多次，已使用第一处。")
            continue
        found[name] = value
    for name, value in found.items():
        _accept(out, name, value)
    out.missing = [name for name in EXPECTED if name not in out.fields]
    return out


def _json_pairs(raw: str, out: ParsedOrder) -> list[tuple[str, str]] | None:
    """Key/value pairs of a JSON export, or None (after saying why) to read the text as lines instead."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        out.problems.append(f"内容像 JSON 但格式有误{f'（第 {line} 行）' if line else ''}，已按文本逐行识别。")
        return None
    if isinstance(data, list):
        orders = [item for item in data if isinstance(item, dict)]
        if not orders:
            out.problems.append("JSON 中没有工单对象。")
            return []
        if len(orders) > 1:
            out.problems.append(f"包含 {len(orders)} 张工单，只填入第一张。")
        data = orders[0]
    if not isinstance(data, dict):
        out.problems.append("JSON 中没有工单对象。")
        return []
    pairs: list[tuple[str, str]] = []
    unused: list[str] = []
    for key, value in _flatten(data, 0):
        name = _BY_LABEL.get(_label(key))
        if name is None:
            unused.append(key[:32])
        elif value is not None:
            pairs.append((name, str(value)))
    if unused:
        out.problems.append("未使用的项：" + "、".join(sorted(set(unused))[:20]))
    return pairs


def _flatten(data: dict[Any, Any], depth: int) -> Iterator[tuple[str, Any]]:
    """Scalar key/value pairs of nested objects ({"data": {...}} wrappers), depth-limited."""
    for key, value in data.items():
        if isinstance(value, dict):
            if depth < MAX_DEPTH:
                yield from _flatten(value, depth + 1)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            yield str(key), value


def _text_pairs(raw: str, out: ParsedOrder) -> list[tuple[str, str]]:
    """Label/value pairs of pasted text: `label：value` lines, 【label】value, tab-separated table rows."""
    pairs: list[tuple[str, str]] = []
    skipped = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) >= 4 and all(_BY_LABEL.get(_label(c)) for c in cells[0::2] if c):
            pairs += [(_BY_LABEL[_label(label)], value) for label, value in zip(cells[0::2], cells[1::2], strict=False)]
            continue
        match = _LINE_RE.match(line)
        name = _BY_LABEL.get(_label(match.group(1))) if match else None
        if match and name:
            value = match.group(2)
            if line.lstrip()[:1] in ('"', "{"):  # a line of broken JSON: "key": "value",
                value = value.strip().rstrip(",}").strip().strip('"')
            pairs.append((name, value))
        elif pairs and pairs[-1][0] in MULTILINE:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + "\n" + line.strip())  # continues the field above
        else:
            skipped += 1
    if skipped:
        out.problems.append(f"有 {skipped} 行未能识别，请核对后手工填写。")
    return pairs


def _accept(out: ParsedOrder, name: str, value: str) -> None:
    """Check and normalise one found value; a bad value becomes a problem instead of a field."""
    title = _title(name)
    shown = value if len(value) <= 40 else value[:40] + "…"
    if name == "upstream_order_id":
        value = re.sub(r"\s", "", unicodedata.normalize("NFKC", value))
        if not ORDER_ID_RE.match(value):
            out.problems.append(f"「{title}」格式不正确：{shown}")
            return
    elif name == "requester_phone":
        numbers = [n for n in re.split(r"[,，;；/、]", unicodedata.normalize("NFKC", value)) if n.strip()]
        value = numbers[0].strip() if numbers else ""
        if len(numbers) > 1:
            out.problems.append("有多个联系电话，已填入第一个。")
        if not 7 <= len(pii.normalise_phone(value)) <= 15 or re.search(r"[^0-9+()\- ]", value):
            out.problems.append(f"「{title}」不像电话号码，请手工填写。")
            return
    elif name == "upstream_deadline":
        deadline = parse_deadline(value)
        if deadline is None:
            out.problems.append(f"「{title}」无法识别为日期时间：{shown}")
            return
        out.deadline = deadline
        value = deadline.isoformat()
    elif name == "request_type":
        code = REQUEST_TYPES.get(unicodedata.normalize("NFKC", value).strip().rstrip("类件"))
        if code is None:
            out.problems.append(f"「{title}」无法对应：{shown}")
            return
        value = code
    else:
        value = value.strip()
    out.fields[name] = value


def parse_deadline(value: str) -> datetime | None:
    """Read a deadline as the platform writes it; a date alone means its end (23:59:59); zone Asia/Shanghai."""
    text = unicodedata.normalize("NFKC", value).strip()
    if re.fullmatch(r"\d{10}|\d{13}", text):  # epoch seconds or milliseconds from a JSON export
        moment = datetime.fromtimestamp(int(text) / (1000 if len(text) == 13 else 1), LOCAL)
        return moment if 2000 <= moment.year <= 2100 else None
    try:
        parsed: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        parsed = _match_date(text)
    if parsed is None or not 2000 <= parsed.year <= 2100:
        return None
    if not re.search(r"[T:时点]", text):  # a date without a time: the end of that day
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    return parsed.replace(tzinfo=LOCAL) if parsed.tzinfo is None else parsed


def _match_date(text: str) -> datetime | None:
    """Read 2026/11/30 12:00, 2026年11月30日 12时00分, 2026.11.30 (naive, local)."""
    match = _DATE_RE.match(text)
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups()[:3])
    hour, minute, second = (int(g) if g else 0 for g in match.groups()[3:])
    try:
        if hour == 24 and not minute and not second:  # "24:00": the end of that day
            return datetime(year, month, day, 23, 59, 59)
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


TITLES = {"upstream_order_id": "工单编号", "upstream_deadline": "截止时间", "requester_name": "诉求人",
          "requester_phone": "联系电话", "requester_address": "联系地址", "location": "发生地址", "title": "诉求标题",
          "content": "诉求内容", "request_type": "诉求类型"}


def _title(name: str) -> str:
    return TITLES.get(name, name)
