"""Personal data at rest: encrypted requester columns, the phone blind index, masking, key configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from processes.accounts import pii
from processes.cases.models import Requester
from processes.cases.personal import read_requester
from processes.runtime import commands
from processes.runtime.core import Runtime
from tests.lifecycle_support import Office

KEY = "ab" * 32
OTHER_KEY = "cd" * 32


@pytest.fixture
def restore_cipher() -> Iterator[None]:
    """Put the development key back after a test configures another one."""
    yield
    pii.configure(None, production=False)


def test_values_round_trip_and_differ_each_time() -> None:
    cipher = pii.PiiCipher.from_hex(KEY)
    first, second = cipher.encrypt("phone", "13812345678"), cipher.encrypt("phone", "13812345678")
    assert first != second and first is not None and first.startswith("v1:") and "138" not in first
    assert cipher.decrypt("phone", first) == "13812345678"
    assert cipher.encrypt("name", None) is None and cipher.decrypt("name", None) is None
    assert cipher.decrypt("name", "张三") == "张三"  # a row from before encryption reads as it is


def test_a_value_cannot_move_column_or_be_read_with_another_key() -> None:
    cipher = pii.PiiCipher.from_hex(KEY)
    stored = cipher.encrypt("phone", "13812345678")
    with pytest.raises(pii.PiiKeyError):
        cipher.decrypt("address", stored)  # the field name is bound as associated data
    with pytest.raises(pii.PiiKeyError):
        pii.PiiCipher.from_hex(OTHER_KEY).decrypt("phone", stored)
    assert stored is not None
    tampered = stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB")
    with pytest.raises(pii.PiiKeyError):
        cipher.decrypt("phone", tampered)


@pytest.mark.parametrize("bad", ["", "zz" * 32, "ab" * 16, "ab" * 33])
def test_malformed_keys_are_refused(bad: str) -> None:
    with pytest.raises(pii.PiiKeyError):
        pii.PiiCipher.from_hex(bad)


def test_blind_index_matches_one_number_in_any_spelling_and_depends_on_the_key() -> None:
    cipher = pii.PiiCipher.from_hex(KEY)
    index = cipher.phone_index("13812345678")
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in "8613812345678")  # what a Chinese IME may type
    for spelling in ("138 1234 5678", "+86 138-1234-5678", full_width, "138" + full_width[5:]):
        assert cipher.phone_index(spelling) == index
    assert cipher.phone_index("13812345679") != index
    assert pii.PiiCipher.from_hex(OTHER_KEY).phone_index("13812345678") != index
    assert cipher.phone_index("") is None and pii.last4("13812345678") == "5678" and pii.last4("12") is None


@pytest.mark.parametrize(("function", "value", "masked"), [
    (pii.mask_phone, "13812341234", "138****1234"),
    (pii.mask_phone, "+86 138 1234 1234", "138****1234"),
    (pii.mask_phone, "0577-6348123", "057****8123"),
    (pii.mask_phone, "110", "***"),
    (pii.mask_id_number, "11010119900307123X", "110***********123X"),
    (pii.mask_name, "张三", "张*"),
    (pii.mask_name, "欧阳娜娜", "欧***"),
    (pii.mask_name, "", ""),
    (pii.mask_address, "洞头区北岙街道中心街88号3单元", "洞头区北岙街****"),
])
def test_masking_keeps_only_what_the_office_needs(function: object, value: str, masked: str) -> None:
    assert callable(function) and function(value) == masked


def test_production_without_a_key_refuses_personal_data(restore_cipher: None) -> None:
    pii.configure(None, production=True)
    with pytest.raises(pii.PiiKeyError, match="PII_ENCRYPTION_KEY"):
        pii.cipher()
    pii.configure(KEY, production=True)
    assert pii.cipher().key == bytes.fromhex(KEY)


def test_the_development_key_is_announced_when_first_used_not_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=pii.__name__):
        pii.configure(None, production=False)  # what create_app does, also for `hotline --help`
        assert caplog.messages == []
        pii.cipher().encrypt("phone", "13812345678")
        pii.cipher().encrypt("phone", "13812345679")
    assert caplog.messages == ["PII_ENCRYPTION_KEY not set: using the public development key"]


def test_registered_requester_is_stored_encrypted_and_found_by_blind_index(office: Office) -> None:
    started = office.open("case_phone", "phone", requester_name="张三", requester_phone="138 1234 5678",
                          requester_address="洞头区北岙街道中心街88号")
    with office.rt.read() as session:
        requester = session.scalars(sa.select(Requester)).one()
        raw = session.execute(sa.text("SELECT name, phone, address FROM requester")).one()
    assert all(value.startswith("v1:") for value in raw)
    assert "张三" not in "".join(raw) and "1234" not in "".join(raw)
    assert read_requester(requester) == {"name": "张三", "phone": "138 1234 5678", "id_number": None,
                                         "address": "洞头区北岙街道中心街88号"}
    assert requester.phone_last4 == "5678"
    again = office.open("case_phone", "phone", requester_phone="13812345678")  # another spelling, same number
    assert office.open_ids(again) == ["merge_offer"] and office.open_ids(started) == ["triage"]


def test_database_holds_no_plain_phone_number_after_registration(runtime: Runtime) -> None:
    from tests.support import deploy

    deploy(runtime, "simple", "simple.bpmn")
    personal = {"requester_phone": "13912345678", "requester_id_number": "11010119900307123X"}
    commands.open_case(runtime, "simple", personal, actor="op", channel="phone")
    with runtime.read() as session:
        dump = " ".join(str(v) for row in session.execute(sa.text("SELECT * FROM requester")).all() for v in row)
    assert "13912345678" not in dump and "11010119900307123X" not in dump and "5678" in dump
