"""Where Odoo is on this machine and how to run it: the one answer of ``scripts/test``, ``scripts/i18n``,
the benchmarks (``scripts/benchlib.py``) and the end-to-end tests (``tests/odoo_server.py``).

Pure standard library, so it runs before anything is installed. Two source layouts are understood:

- a **git checkout** (what ``git clone`` of odoo/odoo gives): ``odoo-bin``, ``odoo/`` with only the core
  addons under ``odoo/addons``, and every other addon in ``addons/`` beside ``odoo/``;
- a **packaged tree** (the deb package, the official Docker image, the nightly tarball, a pip install):
  every addon under ``odoo/addons``.

``odoo_locate.py --series TREE`` prints the series of a source tree (empty when it holds no Odoo). Without
arguments, as a command, it prints shell assignments for ``scripts/test`` (``eval "$(python3 tests/odoo_locate.py)"``)::

    ODOO_SERIES=18.0  ODOO_ROOT=/opt/odoo  ODOO_ADDONS=/opt/odoo/odoo/addons,/opt/odoo/addons
    ODOO_CMD='/usr/bin/python3 /opt/odoo/odoo-bin'  ODOO_NO_DEMO=--without-demo=all

or ``ODOO_MISSING='<reason>'`` when no Odoo is found.
"""

import importlib.util
import os
import re
import shlex
import sys
from dataclasses import dataclass, field

SUPPORTED_SERIES = ("18.0", "19.0")


@dataclass
class Odoo:
    """An Odoo that can be run here.

    :ivar list command: argv that starts Odoo's command line (``odoo-bin`` or ``python -m odoo``)
    :ivar list addons: Odoo's own addons folders (one per layout part)
    :ivar str series: ``18.0``, ``19.0``, …
    :ivar str root: the folder holding the ``odoo`` package
    :ivar dict env: environment variables the command needs (``PYTHONPATH`` for a tree that is not installed)
    """

    command: list
    addons: list
    series: str
    root: str
    env: dict = field(default_factory=dict)

    def addons_path(self, *extra):
        """The ``--addons-path`` value: Odoo's folders, then ``extra`` (this repository, the example addon)."""
        return ",".join([*self.addons, *extra])

    def export_environment(self):
        """Put what the command needs into ``os.environ`` (``PYTHONPATH`` first for a tree that is not
        installed), so that child processes started from here can run it."""
        for key, value in self.env.items():
            os.environ[key] = os.pathsep.join(filter(None, [value, os.environ.get(key)]))

    @property
    def no_demo_args(self):
        """Arguments that install without demo data: 18.0 takes a module list, 19.0 a boolean."""
        return ["--without-demo=all"] if self.series == "18.0" else ["--without-demo"]

    @property
    def major(self):
        return int(self.series.split(".")[0])


def series_of(package_dir):
    """The series (``18.0``) of the ``odoo`` package in ``package_dir``, read from ``release.py`` without
    importing it; None when it cannot be read."""
    try:
        with open(os.path.join(package_dir, "release.py"), encoding="utf-8") as release:
            text = release.read()
    except OSError:
        return None
    match = re.search(r"^version_info\s*=\s*\((\d+),\s*(\d+)", text, re.M)
    return f"{match[1]}.{match[2]}" if match else None


def addons_folders(package_dir):
    """Odoo's addons folders for the ``odoo`` package in ``package_dir``, in either layout."""
    folders = [os.path.join(package_dir, "addons")]
    beside = os.path.join(os.path.dirname(package_dir), "addons")
    # git checkout: addons/ beside odoo/ holds web, mail, … (a packaged tree has them in odoo/addons)
    if os.path.isfile(os.path.join(beside, "web", "__manifest__.py")):
        folders.append(beside)
    return folders


def _launcher(root, python):
    odoo_bin = os.path.join(root, "odoo-bin")
    # with --workers, Odoo re-executes sys.argv: "-m odoo" cannot be restarted that way, odoo-bin can
    return [python, odoo_bin] if os.path.isfile(odoo_bin) else [python, "-m", "odoo"]


def locate(odoo_path=None, python=None):
    """Find Odoo: ``odoo_path`` (``$ODOO_PATH``) when given, else the ``odoo`` package ``python`` imports.

    :param str odoo_path: a source tree (the folder holding ``odoo/``, and ``odoo-bin`` in a git checkout)
    :param str python: the interpreter that will run Odoo (default: this one; it must be the one running
        this function when ``odoo_path`` is not given)
    :return: ``(Odoo, None)`` or ``(None, reason)``
    :raise ValueError: when ``odoo_path`` is given but holds no Odoo
    """
    python = python or sys.executable
    if odoo_path:
        root = os.path.abspath(odoo_path)
        package = os.path.join(root, "odoo")
        series = series_of(package)
        if not series or not os.path.isdir(os.path.join(package, "addons", "base")):
            raise ValueError(f"ODOO_PATH={odoo_path} holds no Odoo source tree (no odoo/release.py, odoo/addons/base)")
        return Odoo(_launcher(root, python), addons_folders(package), series, root, {"PYTHONPATH": root}), None
    spec = importlib.util.find_spec("odoo")
    if spec is None or not spec.submodule_search_locations:
        return None, "Odoo is not importable by this Python and ODOO_PATH is not set"
    package = list(spec.submodule_search_locations)[0]
    series = series_of(package)
    if not series:
        return None, f"the odoo package at {package} has no readable release.py"
    root = os.path.dirname(package)
    return Odoo(_launcher(root, python), addons_folders(package), series, root), None


def from_environment():
    """The Odoo that ``scripts/test`` found (it exports ``WECOM_ODOO_*``), else :func:`locate` here.

    :return: ``(Odoo, None)`` or ``(None, reason)``
    """
    if os.environ.get("WECOM_ODOO_AVAILABLE") == "1":
        return (
            Odoo(
                shlex.split(os.environ["WECOM_ODOO_BIN"]),
                os.environ["WECOM_ODOO_ADDONS"].split(","),
                os.environ.get("WECOM_ODOO_SERIES", "18.0"),
                os.environ.get("WECOM_ODOO_ROOT", ""),
            ),
            None,
        )
    try:
        return locate(os.environ.get("ODOO_PATH"))
    except ValueError as error:
        return None, str(error)


def main():
    if sys.argv[1:2] == ["--series"]:  # the series of a source tree, or nothing (scripts/_pyenv.sh, before any venv)
        print(series_of(os.path.join(sys.argv[2], "odoo")) or "")
        return 0
    try:
        odoo, reason = locate(os.environ.get("ODOO_PATH"))
    except ValueError as error:
        print(f"ODOO_ERROR={shlex.quote(str(error))}")
        return 0
    if odoo is None:
        print(f"ODOO_MISSING={shlex.quote(reason)}")
        return 0
    values = {
        "ODOO_SERIES": odoo.series,
        "ODOO_ROOT": odoo.root,
        "ODOO_ADDONS": odoo.addons_path(),
        "ODOO_CMD": shlex.join(odoo.command),
        "ODOO_NO_DEMO": " ".join(odoo.no_demo_args),
        "ODOO_PYTHONPATH": odoo.env.get("PYTHONPATH", ""),
    }
    for key, value in values.items():
        print(f"{key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
