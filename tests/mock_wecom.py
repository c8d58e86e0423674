"""``python -m tests.mock_wecom [--host 127.0.0.1] [--port 8900] [--verbose] [--sample-directory [D,M]]
[--trusted-domain HOST[:PORT]]``: the mock WeCom in the foreground, without Odoo (README, docker-compose,
scripts/serve). The mock itself travels with the addon:
``wecom_base/tests/mock_wecom`` (``tests/__init__.py`` makes it importable without Odoo).
"""

import sys

from wecom_base.tests.mock_wecom.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
