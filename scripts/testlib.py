#!/usr/bin/env python3
"""The small programs of ``scripts/test``, one subcommand each (standard library only)::

    testlib.py junit-counts JUNIT.xml   -> "PASSED FAILED SKIPPED" of a pytest --junitxml report
    testlib.py odoo-log-counts LOG      -> "TOTAL FAILED SKIPPED" of an Odoo --test-enable log
    testlib.py our-warnings LOG         -> the WARNING lines of the log from or about our modules (none may appear)
    testlib.py dropdb NAME              -> drops a database through psycopg2 (when dropdb is not installed)

A report or log that cannot be read counts as one failure.
"""

import re
import sys
import xml.etree.ElementTree as ET


def junit_counts(path):
    """Passed, failed (failures + errors) and skipped tests of a pytest JUnit XML report."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return 0, 1, 0
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        skipped += int(suite.get("skipped", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return tests - failed - skipped, failed, skipped


def odoo_log_counts(path):
    """Total, failed (failures + errors) and skipped tests of an Odoo test run, from its log.

    Odoo prints "N failed, M error(s) of T tests when loading database"; it logs each skipped test, with its
    reason, under the test module's logger. No such line: the run did not get that far (one failure)."""
    text = open(path, errors="replace").read()
    found = re.findall(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database", text)
    skipped = len(re.findall(r"^\S+ \S+ \d+ INFO \S+ odoo\.addons\.[\w.]+: skipped .* : ", text, re.M))
    if not found:
        return 0, 1, skipped
    failed, errors, total = map(int, found[-1])
    return total, failed + errors, skipped


# date time pid LEVEL database logger: message (the database name is left out of the match)
WARNING_RE = re.compile(r"^\S+ \S+ \d+ WARNING \S+ (\S+: .*)$")


def our_warnings(path):
    """The WARNING lines whose logger or message names wecom (our loggers, or Odoo's about our modules)."""
    lines = []
    for line in open(path, errors="replace"):
        match = WARNING_RE.match(line)
        if match and "wecom" in match[1].lower():
            lines.append(line.rstrip()[:300])
    return lines


def dropdb(name):
    import psycopg2  # noqa: PLC0415 - only this subcommand needs it (and Odoo's environment has it)
    from psycopg2 import sql  # noqa: PLC0415

    connection = psycopg2.connect(dbname="postgres")
    connection.autocommit = True
    connection.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def main(argv):
    command, argument = argv
    if command == "junit-counts":
        print(*junit_counts(argument))
    elif command == "odoo-log-counts":
        print(*odoo_log_counts(argument))
    elif command == "our-warnings":
        print(*our_warnings(argument), sep="\n")
    elif command == "dropdb":
        dropdb(argument)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
