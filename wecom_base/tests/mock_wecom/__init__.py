"""The mock WeCom server.

``MockWeCom`` serves it from this process; ``MockWeComControl`` drives any running mock over HTTP.
Run it alone with ``python -m tests.mock_wecom [--host 127.0.0.1] [--port 8900] [--verbose]``.
"""

from .server import (
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_ROBOT_KEY,
    DEFAULT_SECRET,
    MockWeCom,
    MockWeComControl,
    mask,
    parse_multipart,
)

__all__ = [
    "DEFAULT_AGENT_ID",
    "DEFAULT_CORP_ID",
    "DEFAULT_ROBOT_KEY",
    "DEFAULT_SECRET",
    "MockWeCom",
    "MockWeComControl",
    "mask",
    "parse_multipart",
]
