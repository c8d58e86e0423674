"""1.1.0 renames what misled: the outbox's circuit per application ``wecom.message.channel`` becomes
``wecom.application.circuit`` (the message's ``channel`` selection is another thing), and the pacing log's
``member`` becomes ``userid`` (a WeCom user id, not a ``wecom.member``). Rows, their ids and xmlids are kept."""

import logging

from odoo.tools import SQL, escape_psql, sql

_logger = logging.getLogger(__name__)

OLD_MODEL, NEW_MODEL = "wecom.message.channel", "wecom.application.circuit"
OLD_TABLE, NEW_TABLE = "wecom_message_channel", "wecom_application_circuit"


def rename_model(cr):
    if not sql.table_exists(cr, OLD_TABLE) or sql.table_exists(cr, NEW_TABLE):
        return
    cr.execute(SQL("ALTER TABLE %s RENAME TO %s", SQL.identifier(OLD_TABLE), SQL.identifier(NEW_TABLE)))
    cr.execute(
        SQL(
            "ALTER SEQUENCE IF EXISTS %s RENAME TO %s",
            SQL.identifier(f"{OLD_TABLE}_id_seq"),
            SQL.identifier(f"{NEW_TABLE}_id_seq"),
        )
    )
    cr.execute("UPDATE ir_model SET model = %s WHERE model = %s", [NEW_MODEL, OLD_MODEL])
    cr.execute("UPDATE ir_model_fields SET model = %s WHERE model = %s", [NEW_MODEL, OLD_MODEL])
    cr.execute("UPDATE ir_model_fields SET relation = %s WHERE relation = %s", [NEW_MODEL, OLD_MODEL])
    cr.execute("UPDATE ir_model_data SET model = %s WHERE model = %s", [NEW_MODEL, OLD_MODEL])
    cr.execute(
        "UPDATE ir_model_data SET name = %s WHERE module = 'wecom_base' AND name = %s",
        [f"model_{NEW_TABLE}", f"model_{OLD_TABLE}"],
    )
    for old_prefix, new_prefix in (
        (f"field_{OLD_TABLE}__", f"field_{NEW_TABLE}__"),
        (f"access_{OLD_TABLE}_", f"access_{NEW_TABLE}_"),
    ):
        cr.execute(
            """
            UPDATE ir_model_data SET name = %s || substr(name, %s)
             WHERE module = 'wecom_base' AND name LIKE %s
            """,
            [new_prefix, len(old_prefix) + 1, escape_psql(old_prefix) + "%"],
        )
    _logger.info("wecom_base 1.1.0: %s renamed to %s", OLD_MODEL, NEW_MODEL)


def rename_userid(cr):
    table = "wecom_message_member_send"
    if not sql.column_exists(cr, table, "member") or sql.column_exists(cr, table, "userid"):
        return
    sql.rename_column(cr, table, "member", "userid")
    cr.execute(
        """
        UPDATE ir_model_fields SET name = 'userid' WHERE model = 'wecom.message.member.send' AND name = 'member'
        """
    )
    cr.execute(
        """
        UPDATE ir_model_data SET name = 'field_wecom_message_member_send__userid'
         WHERE module = 'wecom_base' AND name = 'field_wecom_message_member_send__member'
        """
    )
    _logger.info("wecom_base 1.1.0: wecom.message.member.send.member renamed to userid")


def migrate(cr, version):
    if not version:
        return
    rename_model(cr)
    rename_userid(cr)
