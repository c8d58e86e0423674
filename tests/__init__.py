"""Odoo-free tests of wecom_base, the end-to-end RPC tests and the example addon.

``wecom_base/__init__.py`` imports the Odoo models, and ``wecom_base/tests/__init__.py`` the Odoo tests, so
importing ``wecom_base.lib`` or the mock WeCom (``wecom_base.tests.mock_wecom``) the normal way needs Odoo.
Unless they are already imported, synthetic package modules ``wecom_base`` and ``wecom_base.tests`` (whose
``__path__`` are the addon's folders) are registered first: ``import wecom_base.lib``, ``wecom_base.const``
and ``wecom_base.tests.mock_wecom`` then load those pure-Python modules without running either ``__init__``.
Odoo itself imports the addon as ``odoo.addons.wecom_base``, which these packages do not touch.
"""

import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON_DIR = os.path.join(REPO, "wecom_base")

if REPO not in sys.path:
    sys.path.insert(0, REPO)


def _register_package(name, path):
    if name in sys.modules:
        return
    package = types.ModuleType(name)
    package.__path__ = [path]
    package.__file__ = os.path.join(path, "__init__.py")
    package.__package__ = name
    sys.modules[name] = package


if "wecom_base" not in sys.modules:
    _register_package("wecom_base", ADDON_DIR)
    _register_package("wecom_base.tests", os.path.join(ADDON_DIR, "tests"))
