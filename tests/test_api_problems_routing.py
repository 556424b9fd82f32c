"""Unknown paths, wrong methods, oversized and malformed bodies under /api answer RFC 9457 problem details (404, 405
with Allow, 413, 400) in Chinese, in English on Accept-Language: en, never the HTML error page (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from processes.clock import FrozenClock
from tests.api_support import bearer
from tests.api_support import make_key
from tests.web_support import web_app

PROBLEM = "application/problem+json"
EN = {"Accept-Language": "en"}


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    yield from web_app(sqlite_url, FrozenClock(), MAX_CONTENT_LENGTH=64 * 1024)


def _problem(response: TestResponse, status: int) -> dict[str, object]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    assert "<html" not in response.get_data(as_text=True).lower()
    body = json.loads(response.get_data(as_text=True))
    assert isinstance(body, dict)
    assert body["status"] == status and body["instance"] and body["type"] and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/x", "/api/", "/api/v1/cases/x/y/z"])
def test_unknown_paths_under_api_are_404_problems_in_chinese_and_english(app: Flask, path: str) -> None:
    client = app.test_client()
    chinese = _problem(client.get(path, headers={"Accept": "text/html"}), 404)
    assert chinese["title"] == "未找到" and chinese["instance"] == path
    english = _problem(client.get(path, headers=EN), 404)
    assert english["title"] == "Not found" and str(english["detail"]).isascii()


def test_pages_outside_api_keep_the_html_error_page(app: Flask) -> None:
    answer = app.test_client().get("/no-such-page", headers={"Accept": "text/html"})
    assert answer.status_code == 404 and answer.mimetype == "text/html"


def test_a_wrong_method_is_405_with_allow(app: Flask) -> None:
    client = app.test_client()
    body = _problem(answer := client.delete("/api/v1/cases"), 405)
    assert {"GET", "POST"} <= {m.strip() for m in answer.headers["Allow"].split(",")}
    assert body["title"] == "不支持的请求方法"
    assert _problem(client.put("/api/openapi.json", headers=EN), 405)["title"] != "不支持的请求方法"


def test_malformed_and_oversized_json_bodies(app: Flask) -> None:
    client = app.test_client()
    key = bearer(make_key(app, "writer", "cases:write"))
    for broken in (b"{", b"\xff\xfe", b'{"a": [1, 2'):
        body = _problem(client.post("/api/v1/cases", data=broken, headers=key, content_type="application/json"), 400)
        assert body["title"] == "请求有误" and not str(body["detail"]).isascii()  # the office sentence
    english = _problem(client.post("/api/v1/cases", data=b"{", headers={**key, **EN},
                                   content_type="application/json"), 400)
    assert english["title"] == "Bad request" and str(english["detail"]).isascii()
    huge = b'{"x": "' + b"a" * (128 * 1024) + b'"}'
    too_large = _problem(client.post("/api/v1/cases", data=huge, headers=key, content_type="application/json"), 413)
    assert too_large["title"] == "请求过大"
    _problem(client.post("/api/v1/nope", data=huge, content_type="application/json"), 413)
