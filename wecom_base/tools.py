"""Helpers the models of wecom_base and the other addons share, that are not models themselves (Odoo's ``tools/``
convention): the process's token cache, reading a numeric system parameter, the housekeeping deletes and the
"what would a write change" test of the syncs.

Import them from here (``from odoo.addons.wecom_base.tools import changed_values``), never from a models file.
"""

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from cachetools import TLRUCache

from odoo import Command, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from . import compat, const

_logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- the token cache
class TokenCache:
    """Per-process cache in front of the stored tokens: ``(dbname, application id) -> (token, expires_at)``
    (epoch seconds). An entry leaves the cache ``const.TOKEN_REFRESH_MARGIN`` seconds before its token expires,
    so a hit needs neither the database nor WeCom. Thread-safe."""

    def __init__(self, maxsize=4096):
        self._cache = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, value, now: value[1] - const.TOKEN_REFRESH_MARGIN, timer=time.time
        )
        self._lock = threading.Lock()

    def get(self, key, failed_token=None):
        """The entry of ``key``, or None; an entry holding ``failed_token`` (WeCom just refused it) is dropped."""
        with self._lock:
            entry = self._cache.get(key)
            if entry and failed_token and entry[0] == failed_token:
                self._cache.pop(key, None)
                return None
            return entry

    def put(self, key, token, expires_at):
        with self._lock:
            self._cache[key] = (token, expires_at)

    def pop(self, *keys):
        with self._lock:
            for key in keys:
                self._cache.pop(key, None)

    def clear(self):
        with self._lock:
            self._cache.clear()


token_cache = TokenCache()


def clear_token_cache():
    """Empty this process's token cache (tests, or after restoring a database)."""
    token_cache.clear()


# ---------------------------------------------------------------- short transactions
@contextmanager
def short_transaction(env, lock_timeout=None):
    """A cursor of a new, short READ COMMITTED transaction, committed when the block ends (rolled back when it
    raises): for a write that must be seen at once by every worker, or must not hold locks, whatever the
    caller's transaction does next (a claim, a token, a counter, a log line). The one way the addons open one.

    Under a test that put the registry in test mode (HttpCase), the cursor is the test's: its isolation level is
    left as it is.

    :param str lock_timeout: e.g. ``"2s"``: waiting longer for a row lock fails the block
    """
    with env.registry.cursor() as cr:
        if not compat.registry_in_test_mode(env.registry):
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        if lock_timeout:
            cr.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        yield cr


# ---------------------------------------------------------------- system parameters
def number_param(env, key, default, cast=int, minimum=None, maximum=None):
    """The system parameter ``key`` as a number: ``default`` when it is not set or not a number (with a warning
    naming it), bounded by ``minimum`` and ``maximum``. The one way the addons read a numeric setting.

    :param cast: ``int`` or ``float``
    """
    raw = env["ir.config_parameter"].sudo().get_param(key)
    if raw in (None, False, ""):
        value = default
    else:
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            _logger.warning("WeCom: the system parameter %s=%r is not a number; using %s", key, raw, default)
            value = default
    if minimum is not None:
        value = max(minimum, value)
    if maximum is not None:
        value = min(maximum, value)
    return value


# ---------------------------------------------------------------- housekeeping
def retention_cutoff(env):
    """The datetime before which finished records are deleted by the nightly autovacuum (``_gc_*`` of the
    outbox and of the callback inbox), or None to keep everything (``wecom_base.retention_days`` is 0)."""
    days = number_param(env, const.PARAM_RETENTION_DAYS, const.RETENTION_DAYS)
    if days <= 0:
        return None
    return fields.Datetime.now() - timedelta(days=days)


def unlink_in_batches(model, domain):
    """Delete the records of ``model`` matching ``domain``, ``const.GC_BATCH_SIZE`` at a time.

    :return: how many were deleted
    """
    total = 0
    while True:
        records = model.search(domain, limit=const.GC_BATCH_SIZE)
        if not records:
            return total
        records.unlink()
        total += len(records)
        if len(records) < const.GC_BATCH_SIZE:
            return total


# ---------------------------------------------------------------- syncs
def changed_values(record, desired):
    """The part of ``desired`` (field values: ids for relations, a list of ids for a many2many) that differs from
    ``record``, ready for ``write``; empty when the record already holds it all (then nothing is written)."""
    diff = {}
    for name, value in desired.items():
        current = record[name]
        if record._fields[name].type == "many2many":
            if set(current.ids) != set(value):
                diff[name] = [Command.set(list(value))]
        elif (current.id if isinstance(current, models.BaseModel) else current) != value:
            diff[name] = value
    return diff


# ---------------------------------------------------------------- languages
def company_lang(company):
    """The language of ``company``'s people (its partner's), in which texts written in the background for them are
    written (a cron runs in English); the environment's when the company has none."""
    return company.sudo().partner_id.lang or company.env.lang


# ---------------------------------------------------------------- what a button answers
def notification(message, title=None, kind="success", sticky=False, next_action=None):
    """The client action that shows ``message`` in a notification (Odoo's ``display_notification``): what a
    button returns to say how it went.

    :param str kind: ``success``, ``info``, ``warning`` or ``danger``
    :param dict next_action: an action to run once the notification is shown (e.g. a reload)
    """
    params = {"message": message, "type": kind, "sticky": sticky}
    if title:
        params["title"] = title
    if next_action:
        params["next"] = next_action
    return {"type": "ir.actions.client", "tag": "display_notification", "params": params}


# ---------------------------------------------------------------- who may
def has_wecom_group(env, group):
    """Whether the environment may act as a member of ``group`` (``const.USER_GROUP``, ``const.MANAGER_GROUP``):
    the superuser (``sudo()``, crons) always may."""
    return env.su or env.user.has_group(group)


def check_wecom_group(env, group, message):
    """Raise ``AccessError(message)`` unless :func:`has_wecom_group`: the one check of the "managers only" and
    "WeCom users only" actions.

    :param str message: the translated reason shown to the user
    """
    if not has_wecom_group(env, group):
        raise AccessError(message)


# ---------------------------------------------------------------- sorting names
# PostgreSQL's ICU collation for Chinese: Chinese names in pinyin order (Li Si before Wang Wu before Zhang San),
# then Latin ones alphabetically. Odoo creates its databases with the C collation, which sorts by code point.
CHINESE_COLLATION = "zh-x-icu"


def sort_names_in_pinyin(cr, table, column):
    """Give ``table.column`` (a ``varchar``) the Chinese ICU collation, so that ``ORDER BY column`` (a model's
    ``_order``) sorts as WeCom's contact list does. Called from a model's ``init()``; does nothing when the
    database server was built without ICU (the order stays by code point) or the column has it already.

    :return: whether the column has the collation
    """
    cr.execute("SELECT 1 FROM pg_collation WHERE collname = %s", [CHINESE_COLLATION])
    if not cr.fetchone():
        _logger.info("PostgreSQL has no %s collation: %s.%s sorts by code point", CHINESE_COLLATION, table, column)
        return False
    cr.execute(
        """SELECT c.collname FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
           LEFT JOIN pg_collation c ON c.oid = a.attcollation
           WHERE t.relname = %s AND a.attname = %s AND t.relkind = 'r'""",
        [table, column],
    )
    row = cr.fetchone()
    if row is None:
        raise ValueError(f"no column {table}.{column}")
    if row[0] != CHINESE_COLLATION:
        cr.execute(
            SQL(
                "ALTER TABLE %s ALTER COLUMN %s TYPE varchar COLLATE %s",
                SQL.identifier(table),
                SQL.identifier(column),
                SQL.identifier(CHINESE_COLLATION),
            )
        )
    return True
