"""Run the mock WeCom in the foreground until SIGTERM/SIGINT.

    python -m tests.mock_wecom [--host 127.0.0.1] [--port 8900] [--verbose]

``$WECOM_MOCK_HOST`` / ``$WECOM_MOCK_PORT`` set the defaults of ``--host`` / ``--port``.
"""

import argparse
import os
import signal
import sys

from .server import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_ROBOT_KEY, DEFAULT_SECRET, MockWeCom


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.mock_wecom", description="Mock WeCom API server (tests, demos, docker-compose)."
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("WECOM_MOCK_HOST") or "127.0.0.1",
        help="interface to listen on (default 127.0.0.1; 0.0.0.0 for docker-compose)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("WECOM_MOCK_PORT") or 8900),
        help="TCP port (default 8900; 0 = a free port)",
    )
    parser.add_argument("--verbose", action="store_true", help="print one line per request (secrets masked)")
    args = parser.parse_args(argv)

    mock = MockWeCom(host=args.host, port=args.port, verbose=args.verbose)
    try:
        mock.bind()
    except OSError as exc:
        print(f"mock WeCom: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:  # a signal may arrive as soon as a handler is set: everything after that is inside the try
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGINT, _raise_stop)
        print(
            f"mock WeCom listening on {mock.url} - CorpID {DEFAULT_CORP_ID}, secret {DEFAULT_SECRET}, "
            f"AgentId {DEFAULT_AGENT_ID}, robot key {DEFAULT_ROBOT_KEY}",
            flush=True,
        )
        mock.serve_forever()
    except (_Stop, KeyboardInterrupt):
        pass
    print("mock WeCom stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
