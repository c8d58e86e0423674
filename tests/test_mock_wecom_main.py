"""The mock WeCom started alone (``python -m tests.mock_wecom``): its sample directory and trusted domain."""

import argparse

import pytest
import requests

from wecom_base.tests.mock_wecom import __main__ as mock_main
from wecom_base.tests.mock_wecom.server import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET, MockWeCom


def _token(mock):
    answer = requests.get(
        f"{mock.url}/cgi-bin/gettoken", params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
    ).json()
    return answer["access_token"]


@pytest.fixture
def mock():
    mock = MockWeCom().bind()
    yield mock
    mock.stop()


def test_sample_directory_and_trusted_domain(mock):
    mock_main.prepare(mock, sample_directory=(3, 7), trusted_domain="localhost:8069")
    mock.start()
    directory = mock.directory()
    assert len(directory["departments"]) == 3
    assert len(directory["users"]) == 7
    token = _token(mock)
    users = requests.get(
        f"{mock.url}/cgi-bin/user/simplelist",
        params={"access_token": token, "department_id": 1, "fetch_child": 1},
        timeout=5,
    ).json()
    assert users["errcode"] == 0
    assert len(users["userlist"]) == 7
    agent = requests.get(
        f"{mock.url}/cgi-bin/agent/get", params={"access_token": token, "agentid": DEFAULT_AGENT_ID}, timeout=5
    ).json()
    assert agent["redirect_domain"] == "localhost:8069"
    assert agent["home_url"] == "http://localhost:8069"


def test_without_options_nothing_changes(mock):
    mock_main.prepare(mock)
    mock.start()
    assert mock.directory()["departments"] == []
    agent = requests.get(
        f"{mock.url}/cgi-bin/agent/get", params={"access_token": _token(mock), "agentid": DEFAULT_AGENT_ID}, timeout=5
    ).json()
    assert agent["redirect_domain"] == "odoo.example.com"


def test_sample_directory_size_is_parsed():
    assert mock_main._directory_size("6,24") == (6, 24)
    for wrong in ("6", "a,b", "0,3", "2,-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            mock_main._directory_size(wrong)
