#!/usr/bin/env python3
"""Directory benchmark: full syncs of a generated WeCom directory (the mock WeCom) into a running Odoo.

Starts the mock WeCom (its own process) and Odoo (a fresh database with wecom_base, threaded server, HTTP on a
free 127.0.0.1 port), then, through XML-RPC ``wecom.application.action_sync_directory``:

1. the first sync of a small directory (default 2,000 members in 100 departments) and a sync of it unchanged;
2. with the mirror emptied, the first sync of a large one (default 10,000 members in 500 departments), a sync
   unchanged, and a sync after 1 % of the members changed (renamed, moved, removed) and a department renamed.

For each: seconds (the whole RPC call: WeCom calls through HTTP to the mock and the database writes), WeCom calls
made, rows the sync inserted or updated in the mirror tables (by their ``xmin``), and the Odoo server's RSS before,
at the peak during the call (sampled every 0.1 s) and after. Not a test: it asserts nothing, it prints.

    ODOO_PATH=/path/to/odoo python3 scripts/bench_directory.py [--small 2000,100] [--large 10000,500]

Needs Odoo (importable, or ODOO_PATH) and PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432).
"""

import argparse
import json
import os
import sys
import tempfile

from benchlib import machine, measure_sync, odoo_against_mock, pg_connect

MIRROR_TABLES = ("wecom_department", "wecom_member", "wecom_department_member_rel")


def measure(label, rpc, app_id, server_pid, mock, conn):
    return measure_sync(label, rpc, "action_sync_directory", app_id, server_pid, mock, conn, MIRROR_TABLES)


def change_one_percent(mock, users, departments):
    directory = mock.directory()
    members = directory["users"]
    step = max(len(members) // (users // 100 or 1), 1)
    changed = members[::step][: users // 100]
    third = max(len(changed) // 3, 1)
    upserts = [{"userid": m["userid"], "name": m["name"] + " (renamed)"} for m in changed[:third]]
    upserts += [
        {"userid": m["userid"], "department": [1 + (m["department"][0] % departments)]} for m in changed[third:-third]
    ]
    mock.change_directory(
        departments=[{"id": 2, "name": "Department 2 (renamed)"}],
        users=upserts,
        delete_users=[m["userid"] for m in changed[-third:]],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", default="2000,100", help="members,departments of the small directory")
    parser.add_argument("--large", default="10000,500", help="members,departments of the large directory")
    parser.add_argument("--db", default=f"wecom_bench_directory_{os.getpid()}")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    args = parser.parse_args()
    small = tuple(int(x) for x in args.small.split(","))
    large = tuple(int(x) for x in args.large.split(","))

    print(f"machine: {machine()}", flush=True)
    log = tempfile.NamedTemporaryFile("w+", prefix="wecom-bench-directory-", suffix=".log", delete=False)
    rows = []
    with odoo_against_mock(args.db, log, timeout=30) as (mock, server, rpc, app_id):
        rpc("wecom.application", "write", [app_id], {"directory_sync": True})
        conn = pg_connect(args.db)
        pid = server.process.pid

        mock.control.generate_directory(departments=small[1], users=small[0], seed=1)
        rows.append(measure(f"first sync {small[0]}/{small[1]}", rpc, app_id, pid, mock.control, conn))
        rows.append(measure(f"unchanged {small[0]}/{small[1]}", rpc, app_id, pid, mock.control, conn))

        with conn.cursor() as cr:  # an empty mirror again: the large directory's first sync
            cr.execute(
                "DELETE FROM wecom_department_member_rel; DELETE FROM wecom_member; DELETE FROM wecom_department"
            )
        mock.control.generate_directory(departments=large[1], users=large[0], seed=2)
        rows.append(measure(f"first sync {large[0]}/{large[1]}", rpc, app_id, pid, mock.control, conn))
        rows.append(measure(f"unchanged {large[0]}/{large[1]}", rpc, app_id, pid, mock.control, conn))
        change_one_percent(mock.control, large[0], large[1])
        rows.append(measure(f"1 % changed {large[0]}/{large[1]}", rpc, app_id, pid, mock.control, conn))
        rows.append(measure(f"unchanged again {large[0]}/{large[1]}", rpc, app_id, pid, mock.control, conn))
        conn.close()
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
