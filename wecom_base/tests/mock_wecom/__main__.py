"""Run the mock WeCom in the foreground until SIGTERM/SIGINT.

    python -m tests.mock_wecom [--host 127.0.0.1] [--port 8900] [--verbose]
                               [--sample-directory [DEPARTMENTS,MEMBERS]] [--trusted-domain HOST[:PORT]]

``--sample-directory`` fills the directory with a generated tree (the same every time); ``--trusted-domain``
makes the default application's trusted domain (``agent/get``'s ``redirect_domain``, checked by the mock's login
pages) and home URL that host, e.g. the host of Odoo's ``web.base.url``. ``POST /_mock/reset`` forgets both.

``$WECOM_MOCK_HOST`` / ``$WECOM_MOCK_PORT`` set the defaults of ``--host`` / ``--port``.
"""

import argparse
import os
import signal
import sys

from .server import (
    DEFAULT_AGENT_ID,
    DEFAULT_APP_NAME,
    DEFAULT_CORP_ID,
    DEFAULT_ROBOT_KEY,
    DEFAULT_SECRET,
    MockDirectory,
    MockWeCom,
)

SAMPLE_DIRECTORY = "6,24"  # departments, members: small enough to read, big enough to have a tree


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def _directory_size(text):
    try:
        departments, members = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not DEPARTMENTS,MEMBERS (two numbers)") from None
    if departments < 1 or members < 0:
        raise argparse.ArgumentTypeError("at least one department and no negative number of members")
    return departments, members


def prepare(mock, sample_directory=None, trusted_domain=None):
    """Give a bound mock its sample directory (``(departments, members)``) and its default application's
    trusted domain, before it serves."""
    state = mock.server.state
    if sample_directory:
        if getattr(state, "directory", None) is None:
            state.directory = MockDirectory()
        departments, members = sample_directory
        state.directory.generate(departments=departments, users=members, seed=0)
    if trusted_domain:
        state.add_app(
            DEFAULT_CORP_ID,
            DEFAULT_SECRET,
            DEFAULT_AGENT_ID,
            DEFAULT_APP_NAME,
            redirect_domain=trusted_domain,
            home_url=f"http://{trusted_domain}",
        )


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
    parser.add_argument(
        "--sample-directory",
        nargs="?",
        const=SAMPLE_DIRECTORY,
        type=_directory_size,
        metavar="DEPARTMENTS,MEMBERS",
        help=f"start with a generated directory ({SAMPLE_DIRECTORY} when no size is given; default: empty)",
    )
    parser.add_argument(
        "--trusted-domain",
        metavar="HOST[:PORT]",
        help="the default application's trusted domain, e.g. the host of web.base.url (default odoo.example.com)",
    )
    args = parser.parse_args(argv)

    mock = MockWeCom(host=args.host, port=args.port, verbose=args.verbose)
    try:
        mock.bind()
    except OSError as exc:
        print(f"mock WeCom: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    prepare(mock, sample_directory=args.sample_directory, trusted_domain=args.trusted_domain)
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
