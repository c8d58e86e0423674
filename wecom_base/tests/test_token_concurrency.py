import random

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from ..const import PARAM_API_BASE_URL, PARAM_TIMEOUT
from ..models.wecom_application import clear_token_cache
from .common import MOCK_CORP_ID, MOCK_SECRET, get_mock, run_concurrently

WORKERS = 8


@tagged("post_install", "-at_install")
class TestTokenConcurrency(TransactionCase):
    """Several workers, each with its own database connection, ask for the token at once: one gettoken.

    The application is committed (as in production) so that every connection sees it; it is removed
    at the end.
    """

    def setUp(self):
        super().setUp()
        self.mock = get_mock()
        self.mock.reset()
        clear_token_cache()
        self.addCleanup(clear_token_cache)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            icp = env["ir.config_parameter"]
            self._saved_params = {key: icp.get_param(key) for key in (PARAM_API_BASE_URL, PARAM_TIMEOUT)}
            icp.set_param(PARAM_API_BASE_URL, self.mock.url)
            icp.set_param(PARAM_TIMEOUT, "5")
            company = env.ref("base.main_company")
            self._saved_corp_id = company.wecom_corp_id
            company.wecom_corp_id = MOCK_CORP_ID
            app = env["wecom.application"].create(
                {
                    "app_name": "Concurrent",
                    "agent_id": random.randint(2_000_000, 9_000_000),
                    "secret": MOCK_SECRET,
                    "company_id": company.id,
                }
            )
            self.app_id = app.id
        self.addCleanup(self._drop_committed)

    def _drop_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["wecom.application"].browse(self.app_id).unlink()
            env.ref("base.main_company").wecom_corp_id = self._saved_corp_id
            icp = env["ir.config_parameter"]
            for key, value in self._saved_params.items():
                icp.set_param(key, value or False)

    def _run_workers(self, target):
        results, errors = run_concurrently(
            self.registry, WORKERS, lambda env: target(env["wecom.application"].browse(self.app_id))
        )
        self.assertFalse(errors)
        self.assertEqual(len(results), WORKERS)
        return results

    def test_concurrent_cold_start_one_gettoken(self):
        self.mock.add_fault(path="/cgi-bin/gettoken", delay=0.5, times=-1)
        before = self.mock.count("/cgi-bin/gettoken")
        tokens = self._run_workers(lambda app: app._wecom_get_token())
        self.assertEqual(self.mock.count("/cgi-bin/gettoken") - before, 1)
        self.assertEqual(len(set(tokens)), 1)

    def test_concurrent_invalid_token_one_gettoken(self):
        """Every worker sees the same token rejected (42001): one new token, not one per worker."""
        with self.registry.cursor() as cr:
            first = api.Environment(cr, SUPERUSER_ID, {})["wecom.application"].browse(self.app_id)._wecom_get_token()
        self.mock.add_fault(path="/cgi-bin/gettoken", delay=0.5, times=-1)
        before = self.mock.count("/cgi-bin/gettoken")
        tokens = self._run_workers(lambda app: app._wecom_get_token(failed_token=first))
        self.assertEqual(self.mock.count("/cgi-bin/gettoken") - before, 1)
        self.assertEqual(len(set(tokens)), 1)
        self.assertNotEqual(tokens[0], first)
