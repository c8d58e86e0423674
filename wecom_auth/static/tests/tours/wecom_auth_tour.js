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

/** A WeCom manager checks the WeCom login settings and tests them. */
registry.category("web_tour.tours").add("wecom_auth_tour_settings", {
    url: "/odoo/action-wecom_base.wecom_config_settings_action",
    steps: () => [
        {
            content: "The redirect URL WeCom will be given",
            trigger: ".o_wecom_auth_redirect_uri:contains(/wecom/auth/callback)",
        },
        {
            content: "Odoo does not know the application's trusted domain yet: it says so",
            trigger: ".o_wecom_auth_status_problem:contains(does not know the trusted domain)",
        },
        {
            content: "Test WeCom Login",
            trigger: "button[name=action_wecom_auth_test]",
            run: "click",
        },
        {
            // 18.0 shows the title in .o_notification_title, 19.0 inside .o_notification_content: match the text
            content: "WeCom's trusted domain is this database's host",
            trigger: ".o_notification:contains(WeCom login is ready)",
        },
        {
            content: "The status, read again, says it is ready",
            trigger: ".o_wecom_auth_status_ready:contains(Ready: members log in with Odoo Login)",
        },
    ],
});
