#!/usr/bin/env python3
"""Customer (external contact) benchmark: full syncs of generated WeCom customers (the mock WeCom) into a running
Odoo with wecom_crm.

Starts the mock WeCom (its own process) and Odoo (a fresh database with wecom_crm, threaded server, HTTP on a free
127.0.0.1 port), creates one Odoo user per salesperson, then, through XML-RPC
``wecom.application.action_sync_external_contacts``:

1. the first sync of the customers (default 20,000 customers over 200 salespeople, about 10 % followed by two);
2. a sync of them unchanged (it must write nothing);
3. a sync after 1 % of the customers changed (renamed, retagged, one follower dropped).

For each: seconds (the whole RPC call: WeCom calls through HTTP to the mock and the database writes), WeCom calls
made, rows the sync inserted or updated (mirror, partners and their tags, by ``xmin``), and the Odoo server's RSS
before, at the peak during the call (sampled every 0.1 s) and after. Not a test: it asserts nothing, it prints.

    ODOO_PATH=/path/to/odoo python3 scripts/bench_crm.py [--customers 20000] [--salespeople 200]

Needs Odoo (importable, or ODOO_PATH) and PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432).
"""

import argparse
import json
import os
import sys
import tempfile

from benchlib import machine, measure_sync, odoo_against_mock, odoo_found, pg_connect

TABLES = (
    "wecom_external_contact",
    "wecom_external_follow",
    "wecom_external_follow_tag_rel",
    "wecom_external_tag",
    "res_partner",
    "res_partner_res_partner_category_rel",
)


def measure(label, rpc, app_id, server_pid, mock, conn):
    return measure_sync(label, rpc, "action_sync_external_contacts", app_id, server_pid, mock, conn, TABLES)


def change_one_percent(mock):
    customers = mock.crm()["customers"]
    changed = customers[::100][: len(customers) // 100]
    third = max(len(changed) // 3, 1)
    mock.change_crm(
        customers=[
            {"external_userid": c["external_userid"], "name": c["name"] + " (renamed)"} for c in changed[:third]
        ],
        follows=[
            {"external_userid": c["external_userid"], "userid": c["follow_user"][0]["userid"], "tag_id": ["et1_1"]}
            for c in changed[third:-third]
        ],
        delete_follows=[[c["external_userid"], c["follow_user"][0]["userid"]] for c in changed[-third:]],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--salespeople", type=int, default=200)
    parser.add_argument("--db", default=f"wecom_bench_crm_{os.getpid()}")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    args = parser.parse_args()

    print(f"machine: {machine()}", flush=True)
    log = tempfile.NamedTemporaryFile("w+", prefix="wecom-bench-crm-", suffix=".log", delete=False)
    rows = []
    size = f"{args.customers}/{args.salespeople}"
    with odoo_against_mock(args.db, log, "wecom_crm", timeout=30) as (mock, server, rpc, app_id):
        rpc("wecom.application", "write", [app_id], {"customer_sync": True})
        groups_field = "groups_id" if odoo_found().major < 19 else "group_ids"  # renamed in 19.0
        salesman = rpc("ir.model.data", "check_object_reference", "sales_team", "group_sale_salesman")[1]
        for start in range(1, args.salespeople + 1, 50):
            rpc(
                "res.users",
                "create",
                [
                    {
                        "name": f"Salesperson {n:03d}",
                        "login": f"sales{n:03d}",
                        "wecom_userid": f"sales{n:03d}",
                        groups_field: [(4, salesman)],
                    }
                    for n in range(start, min(start + 50, args.salespeople + 1))
                ],
            )
        conn = pg_connect(args.db)
        pid = server.process.pid
        mock.control.generate_crm(customers=args.customers, follow_users=args.salespeople, seed=1)
        rows.append(measure(f"first sync {size}", rpc, app_id, pid, mock.control, conn))
        rows.append(measure(f"unchanged {size}", rpc, app_id, pid, mock.control, conn))
        change_one_percent(mock.control)
        rows.append(measure(f"1 % changed {size}", rpc, app_id, pid, mock.control, conn))
        rows.append(measure(f"unchanged again {size}", rpc, app_id, pid, mock.control, conn))
        conn.close()
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
