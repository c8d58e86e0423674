"""The migration scripts, run on a database put back in the shape of the version they migrate from (inside the
test's transaction: PostgreSQL rolls the DDL back with it)."""

import importlib.util
import os

from odoo.tests import TransactionCase, tagged
from odoo.tools import sql

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def load(version, script):
    spec = importlib.util.spec_from_file_location(f"wecom_base_{script}", os.path.join(MIGRATIONS, version, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestMigrations(TransactionCase):
    def xmlid(self, name):
        self.env.cr.execute("SELECT model, res_id FROM ir_model_data WHERE module = 'wecom_base' AND name = %s", [name])
        return self.env.cr.fetchone()

    def test_1_1_0_renames_the_circuit_and_the_pacing_userid(self):
        cr = self.env.cr
        app = self.env["wecom.application"].create({"app_name": "Mig", "agent_id": 4242, "secret": "mig-secret"})
        self.env["wecom.application.circuit"].sudo().create({"application_id": app.id, "failures": 2})
        self.env["wecom.message.member.send"].sudo()._wecom_record([(app.id, ["lisi"])])
        self.env.flush_all()
        model_xmlid = self.xmlid("model_wecom_application_circuit")
        # 1.0.0's shape
        cr.execute("ALTER TABLE wecom_application_circuit RENAME TO wecom_message_channel")
        cr.execute("ALTER SEQUENCE wecom_application_circuit_id_seq RENAME TO wecom_message_channel_id_seq")
        old, new = "wecom.message.channel", "wecom.application.circuit"
        cr.execute("UPDATE ir_model SET model = %s WHERE model = %s", [old, new])
        cr.execute("UPDATE ir_model_fields SET model = %s WHERE model = %s", [old, new])
        cr.execute("UPDATE ir_model_data SET model = %s WHERE model = %s", [old, new])
        cr.execute(
            """UPDATE ir_model_data SET name = replace(name, 'wecom_application_circuit', 'wecom_message_channel')
                WHERE module = 'wecom_base' AND name LIKE '%wecom\\_application\\_circuit%'"""
        )
        cr.execute("ALTER TABLE wecom_message_member_send RENAME COLUMN userid TO member")
        cr.execute(
            "UPDATE ir_model_fields SET name = 'member' WHERE model = 'wecom.message.member.send' AND name = 'userid'"
        )
        cr.execute(
            "UPDATE ir_model_data SET name = 'field_wecom_message_member_send__member'"
            " WHERE module = 'wecom_base' AND name = 'field_wecom_message_member_send__userid'"
        )
        self.assertFalse(sql.table_exists(cr, "wecom_application_circuit"))

        load("1.1.0", "pre-migrate.py").migrate(cr, "18.0.1.0.0")

        self.assertTrue(sql.table_exists(cr, "wecom_application_circuit"))
        self.assertFalse(sql.table_exists(cr, "wecom_message_channel"))
        cr.execute("SELECT failures FROM wecom_application_circuit WHERE application_id = %s", [app.id])
        self.assertEqual(cr.fetchall(), [(2,)], "the circuit's rows are kept")
        cr.execute("SELECT userid FROM wecom_message_member_send WHERE application_id = %s", [app.id])
        self.assertEqual(cr.fetchall(), [("lisi",)], "the pacing log is kept, under userid")
        self.assertEqual(self.xmlid("model_wecom_application_circuit"), model_xmlid, "the model's xmlid and id")
        self.assertTrue(self.xmlid("field_wecom_application_circuit__failures"))
        self.assertTrue(self.xmlid("access_wecom_application_circuit_manager"))
        self.assertTrue(self.xmlid("field_wecom_message_member_send__userid"))
        cr.execute("SELECT COUNT(*) FROM ir_model_fields WHERE model = 'wecom.message.channel'")
        self.assertEqual(cr.fetchone()[0], 0)
        cr.execute("SELECT nextval('wecom_application_circuit_id_seq')")  # the sequence follows the table

        load("1.1.0", "pre-migrate.py").migrate(cr, "18.0.1.1.0")  # run twice: changes nothing
        self.assertTrue(sql.table_exists(cr, "wecom_application_circuit"))
