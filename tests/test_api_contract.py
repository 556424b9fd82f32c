"""Contract tests: every operation of /api/openapi.json, fuzzed by schemathesis against the app (WSGI), answers as
documented (status codes, media types, response schemas and headers) and never with a 500.

The app runs on a copy of the prepared office (processes published, units and catalogue loaded) with a unit's
case and task, and a key holding every scope, so the generated calls reach the views, not only the key check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from schemathesis import checks

from processes.clock import FrozenClock
from processes.integration.keys import SCOPES
from tests.api_support import make_key
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.web_support import web_app
from webapp import create_app

KEYS: dict[str, str] = {}
EXAMPLES = 30  # generated calls per operation


@pytest.fixture(scope="module")
def api_app(office_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A web app on a prepared office with one dispatched case and a key of every scope (no rate limit)."""
    url = copy_office(office_template, tmp_path_factory.mktemp("contract"))
    clock = FrozenClock(at("2026-11-25T09:00:00"))
    office = Office(url, clock)
    case = office.open("case_phone", "phone", request_type="complaint", urgency="normal", content="路灯不亮",
                       requester_phone="13812345678", requester_name="王小明")
    office.complete(case, "triage", {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"})
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    for app in web_app(url, clock, API_RATE_LIMIT=10**9):
        KEYS["all"] = make_key(app, "contract", *SCOPES)
        yield app
    office.close()


@pytest.fixture(scope="module")
def api_schema(api_app: Flask) -> Any:
    """The document the app serves, loaded by schemathesis."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)


CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


def test_every_operation_answers_as_documented(api_schema: Any) -> None:
    """Responses match the document and nothing is a server error, whatever the generated input."""
    # Operation by operation with hypothesis directly: schemathesis' pytest plugin (from_fixture) does not run
    # under this pytest, and a module-level schema would need the database at collection time.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {KEYS['all']}"}, checks=CHECKS)

        call()


def test_the_document_covers_every_api_route_and_declares_its_scope(sqlite_url: str) -> None:
    """Generated, not hand-kept: each /api/v1 route is an operation with the scope of the permission table."""
    from webapp.api import spec
    from webapp.permissions import RULES
    from webapp.permissions import api_scope

    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "x" * 40})
    document = spec.document(app)
    assert document["openapi"] == "3.1.0"
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = spec._path(rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["x-scope"] == api_scope(RULES[rule.endpoint]), (path, method)
            assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)
