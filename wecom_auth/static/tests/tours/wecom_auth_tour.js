/**
 * Browser tour of wecom_auth, run by wecom_auth/tests/test_tour.py: nobody is logged in, the login page
 * offers WeCom, the member "scans" on the mock WeCom's login page, which sends the browser back to Odoo with
 * a code, and the web client opens. The Python test prepares the mock (who scans, the trusted domain).
 */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("wecom_auth_tour_login_button", {
    url: "/web/login",
    steps: () => [
        {
            content: "The login page offers WeCom",
            trigger: ".oe_login_form a.o_wecom_auth_button:contains(Log in with WeCom)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "WeCom sent the member back, logged in: the web client",
            trigger: ".o_web_client .o_main_navbar",
        },
    ],
});
