"""pytest fixtures of the Odoo-free tests (``tests/__init__.py`` makes ``wecom_base.lib`` and the mock WeCom
importable without Odoo)."""

import pytest

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
