"""pytest fixtures of the Odoo-free tests.

``wecom_base/__init__.py`` imports the Odoo models, so importing ``wecom_base.lib`` the normal way needs
Odoo. Unless Odoo is already imported, a synthetic package module ``wecom_base`` (whose ``__path__`` is
the addon folder) is registered first: ``import wecom_base.lib`` / ``wecom_base.const`` then load those
pure-Python modules without running the addon's ``__init__``.
"""

import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON_DIR = os.path.join(REPO, "wecom_base")

if REPO not in sys.path:
    sys.path.insert(0, REPO)

if "odoo" not in sys.modules and "wecom_base" not in sys.modules:
    _package = types.ModuleType("wecom_base")
    _package.__path__ = [ADDON_DIR]
    _package.__file__ = os.path.join(ADDON_DIR, "__init__.py")
    _package.__package__ = "wecom_base"
    sys.modules["wecom_base"] = _package

import pytest  # noqa: E402

from tests.mock_wecom import MockWeCom  # noqa: E402


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
