import random

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from .common import WeComCommittedMixin, run_concurrently

WORKERS = 8


@tagged("post_install", "-at_install")
class TestTokenConcurrency(WeComCommittedMixin, TransactionCase):
    """Several workers, each with its own database connection, ask for the token at once: one gettoken.

    The application is committed (as in production) so that every connection sees it; it is removed
    at the end.
    """

    # a fresh AgentId: the committed application must not collide with another test's
    COMMITTED_APP = {"app_name": "Concurrent", "agent_id": random.randint(2_000_000, 9_000_000)}

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
