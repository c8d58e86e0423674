"""The errcode table (``wecom_base/lib/errcodes.py``): one row per code, read by the client and the outbox."""

import pytest

from wecom_base import const
from wecom_base.lib import (
    WeComApiError,
    WeComConfigError,
    WeComError,
    WeComNetworkError,
    WeComPermanentError,
    WeComResponseError,
    WeComRetryableError,
    WeComTokenError,
    errcodes,
    error_from_response,
)
from wecom_base.lib.errcodes import ERRCODES, errcode_info, errcodes_of_kind, failure_type_for, is_retryable

CLASS_OF_KIND = {
    errcodes.RETRYABLE: WeComRetryableError,
    errcodes.TOKEN: WeComTokenError,
    errcodes.CONFIG: WeComConfigError,
    errcodes.VALIDATION: WeComPermanentError,
    errcodes.PERMANENT: WeComPermanentError,
}
FAILURE_TYPES = {"config", "recipients", "content", "retry_exhausted", "permanent", "unknown"}


def test_every_row_is_complete_and_consistent():
    assert ERRCODES, "the table is not empty"
    guidance_keys = [row.guidance for row in ERRCODES.values()]
    assert len(set(guidance_keys)) == len(guidance_keys), "one guidance text per code"
    for code, row in ERRCODES.items():
        assert row.code == code
        assert row.kind in errcodes.KINDS, code
        assert row.failure_type in FAILURE_TYPES - {"unknown"}, code
        assert isinstance(row.guidance, str) and row.guidance, code
        assert row.retryable == (row.kind in (errcodes.RETRYABLE, errcodes.TOKEN)), code
        if row.retryable:
            assert row.failure_type == "retry_exhausted", code
        if row.kind == errcodes.CONFIG:
            assert row.failure_type == "config", code


@pytest.mark.parametrize("code", sorted(ERRCODES))
def test_the_client_raises_the_class_of_the_kind(code):
    error = error_from_response({"errcode": code, "errmsg": "x"})
    assert type(error) is CLASS_OF_KIND[ERRCODES[code].kind]


def test_known_codes_sit_in_one_place_each():
    assert errcode_info(82001).kind == errcodes.VALIDATION and errcode_info(82001).failure_type == "recipients"
    assert errcode_info(const.ERRCODE_ALL_RECIPIENTS_INVALID).failure_type == "recipients"
    assert errcode_info(45002).failure_type == "content"
    assert errcode_info(const.ERRCODE_IP_NOT_ALLOWED).guidance == "ip_not_allowed"
    assert errcodes_of_kind(errcodes.TOKEN) == {40014, 41001, 42001}
    assert errcodes_of_kind(errcodes.RETRYABLE) == {-1, 45009, 45033}
    assert errcodes_of_kind(errcodes.VALIDATION) == {40008, 44004, 45002, 81013, 82001}
    kinds = [errcodes_of_kind(kind) for kind in errcodes.KINDS]
    assert sum(len(codes) for codes in kinds) == len(ERRCODES), "each code has one kind"


def test_traits_name_the_rate_limits_and_the_closed_apis():
    assert errcodes.errcodes_with(errcodes.RATE_LIMIT) == {45009, 45033}
    assert errcodes.errcodes_with(errcodes.API_CLOSED) == {48002, 48009}
    assert errcodes.has_trait(WeComApiError(45033, "x"), errcodes.RATE_LIMIT)
    assert not errcodes.has_trait(WeComApiError(-1, "busy"), errcodes.RATE_LIMIT)
    assert errcodes.has_trait(WeComApiError(48009, "new ip"), errcodes.API_CLOSED)
    assert not errcodes.has_trait(WeComNetworkError("down"), errcodes.API_CLOSED)
    assert not errcodes.has_trait(WeComApiError(99999, "unknown"), errcodes.API_CLOSED)


def test_unknown_code_is_permanent_without_guidance():
    row = errcode_info(12345)
    assert (row.code, row.kind, row.failure_type, row.guidance, row.retryable) == (
        12345,
        "permanent",
        "permanent",
        None,
        False,
    )
    assert errcode_info(12345) == errcode_info(12345)
    assert 12345 not in ERRCODES, "looking up does not grow the table"


@pytest.mark.parametrize(
    ("error", "retryable", "failure_type"),
    [
        (WeComNetworkError("timeout"), True, "retry_exhausted"),
        (WeComNetworkError("HTTP 502", status_code=502), True, "retry_exhausted"),
        (WeComResponseError("HTML, not WeCom"), False, "config"),
        (error_from_response({"errcode": -1}), True, "retry_exhausted"),
        (error_from_response({"errcode": 45009}), True, "retry_exhausted"),
        (error_from_response({"errcode": 42001}), True, "retry_exhausted"),
        (error_from_response({"errcode": 40001}), False, "config"),
        (error_from_response({"errcode": 60020, "errmsg": "from ip: 203.0.113.7"}), False, "config"),
        (error_from_response({"errcode": 93000}), False, "config"),
        (WeComConfigError(40013, "the CorpID is missing"), False, "config"),
        (error_from_response({"errcode": 81013}), False, "recipients"),
        (error_from_response({"errcode": 82001}), False, "recipients"),
        (error_from_response({"errcode": 40008}), False, "content"),
        (error_from_response({"errcode": 44004}), False, "content"),
        (error_from_response({"errcode": 12345}), False, "permanent"),
        (WeComApiError(99999, "bare api error"), False, "permanent"),
        (WeComError("something else of the client"), False, "permanent"),
        (ValueError("not WeCom's"), False, "unknown"),
    ],
)
def test_failure_type_for(error, retryable, failure_type):
    assert is_retryable(error) is retryable
    assert failure_type_for(error) == failure_type
