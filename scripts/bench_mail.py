#!/usr/bin/env python3
"""wecom_mail benchmark: the cost of WeCom notifications in the poster's transaction; prints ratios.

    ODOO_PATH=/path/to/odoo-18.0 python3 scripts/bench_mail.py --db DB [--followers 200] [--rounds 10]

DB is a database with wecom_mail installed (e.g. the one a test run left). In one ``odoo-bin shell`` process,
inside a transaction that is rolled back at the end (nothing stays), it creates FOLLOWERS internal users with a
WeCom User ID and *Notify Me in WeCom* on, a WeCom application as the company's notification application, and a
partner they all follow; then it times ``message_post`` on that partner ROUNDS times with wecom_mail's delivery and
ROUNDS times without it (the context key ``wecom_mail_skip``: Odoo's own notification work only), interleaved,
after one warm-up of each, and prints the median times and their ratio (the issue's target: ≤ 1.2). With more than 20
reachable recipients a post queues one fan-out row (the cards are queued by a cron right after); the script then
runs that cron once and prints how fast it queues the cards. Nothing is sent to WeCom.
Not a test: it asserts nothing, it prints.
"""

import argparse
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHELL_CODE = r"""
import statistics, time
from odoo.tests import new_test_user
FOLLOWERS, ROUNDS = {followers}, {rounds}
company = env.company
company.wecom_corp_id = company.wecom_corp_id or "wwbenchmark0000"
app = env["wecom.application"].create({{"app_name": "Bench", "agent_id": 4242, "secret": "x" * 43,
                                       "company_id": company.id}})
company.wecom_notify_application_id = app
poster = new_test_user(env, login="bench_mail_poster", groups="base.group_user,base.group_partner_manager")
users = env["res.users"].with_context(no_reset_password=True).create([
    {{"name": f"Bench {{i}}", "login": f"bench_mail_{{i}}", "wecom_userid": f"bench{{i:04d}}", "wecom_notify": True,
     "groups_id" if "groups_id" in env["res.users"]._fields else "group_ids":
         [(6, 0, [env.ref("base.group_user").id])]}}
    for i in range(FOLLOWERS)
])
record = env["res.partner"].create({{"name": "Benchmark Partner"}})
record.message_subscribe(partner_ids=users.partner_id.ids)
env.flush_all()

def post(with_wecom):
    target = record.with_user(poster).with_context(wecom_mail_skip=not with_wecom)
    start = time.perf_counter()
    target.message_post(body="A benchmark message", message_type="comment", subtype_xmlid="mail.mt_comment")
    env.flush_all()
    elapsed = time.perf_counter() - start
    return elapsed

post(True); post(False)
timings = {{True: [], False: []}}
for _ in range(ROUNDS):
    for flag in (True, False):
        timings[flag].append(post(flag))
start = time.perf_counter()
env["wecom.mail.fanout"]._cron_fanout(limit=1000)
env.flush_all()
fanout_seconds = time.perf_counter() - start
cards = env["wecom.mail.notification"].sudo().search_count([("user_id", "in", users.ids)])
print(f"BENCH fan-out cron (after the posts, not in them): {{cards}} cards queued in {{fanout_seconds:.2f}} s "
      f"({{cards / fanout_seconds:.0f}} cards/s; digests fold what waits)")
with_median, without_median = statistics.median(timings[True]), statistics.median(timings[False])
print(f"BENCH followers={{FOLLOWERS}} rounds={{ROUNDS}}")
print(f"BENCH message_post without wecom_mail: median {{without_median * 1000:.1f}} ms")
print(f"BENCH message_post with wecom_mail:    median {{with_median * 1000:.1f}} ms")
print(f"BENCH ratio with/without: {{with_median / without_median:.2f}} (target <= 1.2)")
env.cr.rollback()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a database with wecom_mail installed (left unchanged)")
    parser.add_argument("--followers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    odoo_path = os.environ.get("ODOO_PATH")
    if not odoo_path:
        sys.exit("Set ODOO_PATH to an Odoo 18.0 or 19.0 source tree.")
    command = [
        sys.executable,
        os.path.join(odoo_path, "odoo-bin"),
        "shell",
        "-d",
        args.db,
        "--addons-path",
        ",".join([os.path.join(odoo_path, "odoo", "addons"), os.path.join(odoo_path, "addons"), REPO]),
        "--no-http",
        "--log-level=warn",
    ]
    for key, option in (("PGHOST", "--db_host"), ("PGUSER", "--db_user"), ("PGPORT", "--db_port")):
        if os.environ.get(key):
            command += [option, os.environ[key]]
    code = SHELL_CODE.format(followers=args.followers, rounds=args.rounds)
    result = subprocess.run(command, input=code, text=True, capture_output=True, check=False)
    lines = [line[6:] for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if not lines:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
