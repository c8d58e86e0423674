"""Translations of each addon: zh_CN.po translates every entry of the template, keeps placeholders, and no
Chinese is hard-coded in the addon's code or views (English source strings everywhere).

Whether the template is stale (the installed module exports other strings) needs Odoo: ``scripts/i18n check
DB`` runs in the Odoo part of ./scripts/test.
"""

import pathlib
import re

import polib  # requirements-test.txt: a missing polib must fail the run, not skip these checks
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# every addon of the repository (test_every_addon_is_checked) -> a floor: an export that lost most strings fails
MIN_ENTRIES = {
    "wecom_base": 100,
    "wecom_auth": 20,
    "wecom_hr": 5,
    "wecom_mail": 70,
    "wecom_crm": 100,
    "wecom_crm_lead": 5,
    "wecom_approval": 40,
    "wecom_approval_purchase": 5,
}
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdr]|%[sdr]|\{[A-Za-z_][A-Za-z0-9_]*\}")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@pytest.fixture(scope="module", params=sorted(MIN_ENTRIES))
def addon(request):
    return request.param


@pytest.fixture(scope="module")
def catalogs(addon):
    pot, po = ROOT / addon / "i18n" / f"{addon}.pot", ROOT / addon / "i18n" / "zh_CN.po"
    assert pot.exists(), f"{addon}/i18n/{addon}.pot is missing: run scripts/i18n update"
    assert po.exists(), f"{addon}/i18n/zh_CN.po is missing: run scripts/i18n update"
    return polib.pofile(str(pot)), polib.pofile(str(po))


def test_template_is_not_empty(catalogs, addon):
    pot, _po = catalogs
    assert len(pot) > MIN_ENTRIES[addon]
    assert not [entry.msgid for entry in pot if entry.msgstr], "the template must not carry translations"


def test_every_entry_translated(catalogs):
    pot, po = catalogs
    translated = {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
    missing = [e.msgid for e in pot if (e.msgctxt, e.msgid) not in translated]
    empty = [e.msgid for e in po if not e.obsolete and not e.msgstr.strip()]
    fuzzy = [e.msgid for e in po if "fuzzy" in e.flags]
    assert not missing, f"{len(missing)} entries of the .pot are not in zh_CN.po, e.g. {missing[:3]}"
    assert not empty, f"{len(empty)} untranslated entries, e.g. {empty[:3]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries, e.g. {fuzzy[:3]}"


def test_placeholders_kept(catalogs):
    _pot, po = catalogs
    wrong = [e.msgid for e in po if sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(e.msgstr))]
    assert not wrong, f"placeholders differ in {wrong[:3]}"


def test_translations_are_chinese(catalogs):
    _pot, po = catalogs
    # an entry made only of identifiers (AgentId, CorpID, URL...) may stay as it is; most must be Chinese
    chinese = sum(1 for e in po if CJK.search(e.msgstr))
    assert chinese > 0.8 * len(po)


def test_no_chinese_hard_coded(addon):
    offenders = []
    for path in (ROOT / addon).rglob("*"):
        if path.suffix not in {".py", ".xml", ".js", ".csv"} or "tests" in path.parts or "i18n" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CJK.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders, f"Chinese in source (use English and translate in i18n/zh_CN.po): {offenders[:5]}"


def test_no_fstring_in_translations(addon):
    """_() / _lt() must get a literal: an f-string would be translated after formatting, i.e. never."""
    call = re.compile(r"""\b(?:_|_lt|env\._)\(\s*f["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / addon).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if call.search(line)
    ]
    assert not offenders, offenders


def test_every_addon_is_checked():
    addons = {path.parent.name for path in ROOT.glob("*/__manifest__.py")}
    assert addons == set(MIN_ENTRIES), "give each addon of the repository an entry floor in MIN_ENTRIES"
