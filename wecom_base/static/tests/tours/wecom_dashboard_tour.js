/**
 * Browser tour of the WeCom dashboard, run by wecom_base/tests/test_tour_dashboard.py against the mock WeCom
 * (the test prepares an application, a failed message and no callback).
 */
import { registry } from "@web/core/registry";

const APP_NAME = "Odoo Notifications";

/** WeCom manager: the WeCom app opens on the dashboard; the checklist names the missing callback; Retry all. */
registry.category("web_tour.tours").add("wecom_base_tour_dashboard", {
    steps: () => [
        {
            content: "The checklist says a callback is missing, with a link to add one",
            trigger: ".o_wecom_setup_checklist .o_wecom_setup_item_callback.o_wecom_setup_missing a",
        },
        {
            content: "The CorpID is there",
            trigger: ".o_wecom_setup_checklist .o_wecom_setup_item_corp_id.o_wecom_setup_done",
        },
        {
            content: "The application's card shows one failed message",
            trigger: `.o_kanban_record:contains(${APP_NAME}) .o_wecom_dashboard_failed:contains(1)`,
        },
        {
            content: "Retry all",
            trigger: `.o_kanban_record:contains(${APP_NAME}) button.o_wecom_dashboard_retry_all`,
            run: "click",
        },
        {
            content: "The message is queued again",
            trigger: ".o_notification:contains(queued again)",
        },
        {
            content: "No failed message left, no Retry all button",
            trigger: `.o_kanban_record:contains(${APP_NAME}):not(:has(button.o_wecom_dashboard_retry_all))`,
        },
        {
            content: "Open the checklist's missing callback step",
            trigger: ".o_wecom_setup_checklist .o_wecom_setup_item_callback a",
            run: "click",
        },
        {
            content: "The callbacks are listed",
            trigger: ".o_list_view .o_list_button_add",
        },
    ],
});
