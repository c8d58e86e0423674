"""pytest fixtures of the Odoo-free tests (``tests/__init__.py`` makes ``wecom_base.lib`` and the mock WeCom
importable without Odoo)."""

import pytest
import requests

from wecom_base.tests.mock_wecom import MockWeCom


@pytest.fixture(scope="session")
def mock_wecom():
    """The mock WeCom of the test session, served from a thread on 127.0.0.1 (a free port)."""
    server = MockWeCom(host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def mock(mock_wecom):
    """The session's mock WeCom, reset to its defaults before the test."""
    mock_wecom.reset()
    yield mock_wecom
    mock_wecom.reset()


@pytest.fixture
def client(mock):
    """A ``WeComClient`` pointed at the mock, with a 2 s timeout."""
    from wecom_base.lib import WeComClient  # noqa: PLC0415

    return WeComClient(base_url=mock.url, timeout=2)


@pytest.fixture
def web():
    """A requests session to the mock (never through a proxy of the environment)."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture
def token(mock, web):
    """An access token of the mock's default application."""
    from wecom_base.tests.mock_wecom import DEFAULT_CORP_ID, DEFAULT_SECRET  # noqa: PLC0415

    answer = web.get(
        mock.url + "/cgi-bin/gettoken", params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET}, timeout=5
    ).json()
    return answer["access_token"]


@pytest.fixture
def api(mock, web, token):
    """``api(path, payload=None, **params)``: call ``/cgi-bin/<path>`` of the mock with ``token`` (POST with a
    payload, else GET) and return the decoded answer."""

    def api(path, payload=None, **params):
        url = mock.url + "/cgi-bin/" + path
        params = {"access_token": token, **params}
        if payload is not None:
            return web.post(url, params=params, json=payload, timeout=5).json()
        return web.get(url, params=params, timeout=5).json()

    return api
