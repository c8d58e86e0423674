"""What differs between Odoo 18.0 and 19.0, in one place: the addons run unchanged on both series.

Each name below says why it exists. Everything else in the addons is written once for both series.
"""

import threading
from contextlib import contextmanager

from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from odoo import api, models, release
from odoo.tools import SQL, sql

SERIES = release.major_version  # "18.0", "19.0"
ODOO_19 = release.version_info[0] >= 19

# 19.0 renamed res.users.groups_id (and ir.actions / ir.ui.menu groups_id) to group_ids.
USER_GROUPS = "group_ids" if ODOO_19 else "groups_id"
# 19.0 renamed res.groups.users to user_ids.
GROUP_USERS = "user_ids" if ODOO_19 else "users"
# The users' field of all their groups, implied ones included, to search the users of a group: 18.0 stores the
# implied groups in groups_id; 19.0 keeps only the groups given in group_ids and computes all_group_ids.
ALL_USER_GROUPS = "all_group_ids" if ODOO_19 else "groups_id"
# 19.0 groups belong to a res.groups.privilege (which has the module category); 18.0 groups to the category.
GROUP_CATEGORY = "privilege_id" if ODOO_19 else "category_id"


def check_attachment_read(attachment):
    """Raise AccessError unless the environment's user may read ``attachment``: 18.0's ir.attachment checks
    its record in ``check(mode)`` (``check_access`` skips it there); 19.0 moved that into ``check_access``
    and deprecated ``check``."""
    if ODOO_19:
        attachment.check_access("read")
    else:
        attachment.check("read")


# 19.0 removed @api.returns; it turns every recordset an RPC method returns into its list of ids instead.
# On 18.0 the decorator makes XML-RPC / JSON-RPC return the record's id (a recordset cannot be marshalled).
if hasattr(api, "returns"):
    returns_record = api.returns("self", lambda value: value.id)
else:

    def returns_record(method):
        return method


# How RPC calls a model method (what the tests of the RPC surface go through): 19.0 moved call_kw from odoo.api
# to odoo.service.model, where it also refuses private methods and turns returned recordsets into ids.
try:
    from odoo.service.model import call_kw  # noqa: F401
except ImportError:  # 18.0
    from odoo.api import call_kw  # noqa: F401

# @api.private: a public-looking method no RPC (XML-RPC, JSON-RPC, JSON-2) may call. 19.0 and 18.0 since mid-2025
# have it; older 18.0 builds do not, and there such a method stays callable.
private = getattr(api, "private", lambda method: method)


def may_commit(cr):
    """Whether code may commit ``cr`` itself (a cron committing between batches), i.e. ``cr`` is not a test's.

    18.0 marks the thread that runs a test (``threading.current_thread().testing``); 19.0 no longer does, and
    instead replaces ``commit`` on the test's cursor by one that fails.
    """
    if getattr(threading.current_thread(), "testing", False):
        return False
    return "commit" not in vars(cr)


def commit_batch(env, processed):
    """Commit a cron's batch for good (call only where :func:`may_commit`): 19.0 commits through
    ``ir.cron._commit_progress`` so the run's progress counts the batch as it goes; 18.0 has no such call.

    :param int processed: how many items the batch processed
    """
    if hasattr(env["ir.cron"], "_commit_progress"):
        env["ir.cron"]._commit_progress(processed)
    else:
        env.cr.commit()  # pylint: disable=invalid-commit


def report_progress(env, done, remaining):
    """Tell the cron run how far it got: 19.0 ``_commit_progress`` (it also commits, so only where
    :func:`may_commit`), 18.0 ``_notify_progress`` (19.0 deprecates it with a warning).

    :param int done: items processed by this run
    :param int remaining: items left for the next run
    """
    cron = env["ir.cron"]
    if not hasattr(cron, "_commit_progress"):
        cron._notify_progress(done=done, remaining=remaining)
    elif may_commit(env.cr):
        cron._commit_progress(0, remaining=remaining)


def read_request_body(httprequest, limit):
    """At most ``limit + 1`` bytes of the request's body, chunked bodies (no Content-Length) included, kept for a
    replay of the request (Odoo retries a request after a concurrency failure).

    Odoo's ``HTTPRequest`` (18.0 and 19.0) exposes ``get_data()``, which reads the whole body, but not the
    werkzeug request's ``stream``, and its stream is built before the route runs (so ``max_content_length`` can
    no longer lower the limit): the wrapped werkzeug request is private, hence here.
    """
    key = "wecom_base.request_body"
    if key not in httprequest.environ:
        wrapped = httprequest._HTTPRequest__wrapped
        httprequest.environ[key] = wrapped.stream.read(limit + 1)
    return httprequest.environ[key]


def registry_in_test_mode(registry):
    """Whether every new cursor of ``registry`` is the test's (HttpCase): 18.0 has ``in_test_mode()``; 19.0
    replaces the registry's ``cursor`` method (an attribute of the instance) while it is in test mode."""
    if hasattr(registry, "in_test_mode"):
        return registry.in_test_mode()
    return "cursor" in vars(registry)


def sql_constraints(**constraints):
    """SQL constraints of a model, for its class body (18.0 reads ``_sql_constraints``, 19.0 ignores it with a
    warning and reads ``models.Constraint`` attributes)::

        locals().update(compat.sql_constraints(code_uniq=("unique(code)", "The code must be unique.")))

    :param constraints: ``name=(definition, message)``
    :return: the class attributes to add
    """
    if ODOO_19:
        return {
            f"_{name}": models.Constraint(definition, message) for name, (definition, message) in constraints.items()
        }
    return {"_sql_constraints": [(name, definition, message) for name, (definition, message) in constraints.items()]}


def setup_groups(env, category_xmlid, groups, users_xmlids=()):
    """Put ``groups`` under the module category and ``users_xmlids`` in the last group, on either series.

    Called from ``security/wecom_security.xml`` (a ``<function>``), since the fields differ: 18.0 groups
    have ``category_id`` and ``users``; 19.0 groups have a ``privilege_id`` (a ``res.groups.privilege`` of the
    category, created here with an xmlid of the category's module) and ``user_ids``.

    :param str category_xmlid: the ``ir.module.category`` of the groups
    :param list groups: xmlids of the groups, lowest first
    :param users_xmlids: xmlids of users to add to the last (highest) group
    """
    category = env.ref(category_xmlid)
    records = env["res.groups"].browse([env.ref(xmlid).id for xmlid in groups])
    owner = category
    if ODOO_19:
        # loaded (not only looked up) on every install and update: a module's xmlid that an update does not
        # load is deleted at the end of the update
        owner = env["res.groups.privilege"]._load_records(
            [
                {
                    "xml_id": f"{category_xmlid}_privilege",
                    "values": {"name": category.name, "category_id": category.id, "sequence": category.sequence},
                    "noupdate": False,
                }
            ]
        )
    records.write({GROUP_CATEGORY: owner.id})
    if users_xmlids:
        users = [env.ref(xmlid, raise_if_not_found=False) for xmlid in users_xmlids]
        records[-1:].write({GROUP_USERS: [(4, user.id) for user in users if user]})


def set_groups(record, groups):
    """Restrict an action or a menu to ``groups`` (18.0 ``groups_id``, 19.0 ``group_ids``).

    :param record: an ``ir.actions.*`` or ``ir.ui.menu`` record
    :param groups: ``res.groups`` records
    """
    record.write({USER_GROUPS: [(6, 0, groups.ids)]})


def session_authenticate(request, credential):
    """Log the request's session in with ``credential`` through Odoo's own ``Session.authenticate`` (so 2FA, the
    login log and session rotation work as for a password); ``auth_oauth``'s way, used by wecom_auth.

    19.0 takes the request's environment and checks the credential on the request's cursor; 18.0 takes the
    database name and checks it in a transaction of its own, which must see what the request wrote for it (a
    one-time credential): the request's transaction is committed first, as 18.0's ``auth_oauth`` does.

    :return: Odoo's ``auth_info`` (``uid``, ``auth_method``, ``mfa``)
    :raise AccessDenied: the credential was refused
    """
    if ODOO_19:
        return request.session.authenticate(request.env, credential)
    request.env.cr.commit()  # pylint: disable=invalid-commit
    return request.session.authenticate(request.db, credential)


def transaction_aborted(cr):
    """Whether ``cr``'s transaction failed (a query error) and refuses every query until rolled back: Odoo's
    ``Cursor`` does not say it, its psycopg2 connection (private ``_cnx``) does."""
    return cr._cnx.info.transaction_status == TRANSACTION_STATUS_INERROR


def try_lock_for_update(records):
    """The part of ``records`` whose rows this transaction could lock (``FOR NO KEY UPDATE SKIP LOCKED``): the
    others are being changed by another transaction. 19.0 has ``try_lock_for_update``; 18.0 has no ORM call."""
    if hasattr(records, "try_lock_for_update"):
        return records.try_lock_for_update(allow_referencing=True)
    if not records.ids:
        return records
    records.env.cr.execute(
        SQL(
            "SELECT id FROM %s WHERE id IN %s FOR NO KEY UPDATE SKIP LOCKED",
            SQL.identifier(records._table),
            tuple(records.ids),
        )
    )
    locked = {row[0] for row in records.env.cr.fetchall()}
    return records.filtered(lambda record: record.id in locked)


def create_unique_index(cr, name, table, expressions, where=""):
    """A unique index (partial with ``where``) unless it exists: 19.0 folds ``sql.create_unique_index`` into
    ``sql.create_index(unique=True)``; 18.0's ``create_unique_index`` has no ``where``.

    :param list expressions: column names or SQL expressions
    """
    if ODOO_19:
        sql.create_index(cr, name, table, expressions, where=where, unique=True)
    elif not where:
        sql.create_unique_index(cr, name, table, expressions)
    elif not sql.index_exists(cr, name):
        cr.execute(
            SQL(
                "CREATE UNIQUE INDEX %s ON %s (%s) WHERE %s",
                SQL.identifier(name),
                SQL.identifier(table),
                SQL(", ").join(SQL(expression) for expression in expressions),
                SQL(where),
            )
        )


def render_pdf(report, res_ids):
    """The PDF (bytes) of ``report`` (an ``ir.actions.report``) for ``res_ids``: Odoo renders reports through
    ``_render_qweb_pdf`` on both series (its public ``report_action`` only returns an action for the browser)."""
    content, _report_type = report._render_qweb_pdf(report.report_name, res_ids)
    return content


# ---------------------------------------------------------------- for tests only (the importable test kit)
@contextmanager
def registry_lock_released():
    """Let threads of a test build environments: Odoo runs post-install tests while holding the class-wide
    registry lock (``Registry._lock``), which every ``Environment(...)`` in another thread would wait for."""
    from odoo.modules.registry import DummyRLock, Registry  # noqa: PLC0415 - tests only

    saved = Registry._lock
    Registry._lock = DummyRLock()
    try:
        yield
    finally:
        Registry._lock = saved


class DirectRequestsMixin:
    """For test classes: requests to the URLs :meth:`_wecom_direct_request` accepts go straight out. Odoo's test
    framework (18.0 and 19.0) routes every ``requests`` call of a test through ``BaseCase._request_handler``,
    which raises timeouts below 10 s to 10 s and logs each URL (token included); other URLs keep it."""

    @classmethod
    def _wecom_direct_request(cls, url):
        return False

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        if cls._wecom_direct_request(r.url):
            from odoo.tests import common  # noqa: PLC0415 - tests only

            return common._super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)


def bus_send(partner, notification_type, payload):
    """Send a bus notification to ``partner``'s browser tabs when the transaction commits: the bus listener's
    ``_bus_send`` (18.0 and 19.0), the way Odoo's own addons notify a partner.

    :param partner: one ``res.partner``
    :param str notification_type: ``"<model>/<event>"``, what the client subscribes to
    :param dict payload: JSON-serialisable data
    """
    partner._bus_send(notification_type, payload)


@contextmanager
def bus_in_tours():
    """Let a tour's browser receive bus notifications. Tests only.

    19.0's ``HttpCase.browser_js`` allows the bus websocket during tours (``websocket_allowed``) and hands each
    notification to it at once; 18.0 refuses websockets during tests and its test cursor never runs the commit's
    ``NOTIFY``. Within this block the websocket is allowed on 18.0 too (as 18.0's own bus tests do); there a
    notification reaches the browser when it subscribes again (``bus_service.forceUpdateChannels()``).
    """
    if ODOO_19:
        yield
        return
    from unittest.mock import patch  # noqa: PLC0415 - tests only

    from odoo.addons.bus.websocket import WebsocketConnectionHandler, _kick_all  # noqa: PLC0415 - tests only

    with patch.object(WebsocketConnectionHandler, "websocket_allowed", return_value=True):
        try:
            yield
        finally:
            _kick_all()


def load_language(env, code, modules):
    """Activate the language ``code`` and load the translations of ``modules`` only (the public wizard,
    ``base.language.install``, loads every installed module's, which a test cannot afford). Tests only."""
    env["res.lang"]._activate_lang(code)
    env["ir.module.module"]._load_module_terms(list(modules), [code], overwrite=True)
