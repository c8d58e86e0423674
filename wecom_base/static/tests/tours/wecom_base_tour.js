/**
 * Browser tours of wecom_base, run by wecom_base/tests/test_tour.py against the mock WeCom.
 *
 * They need data the Python test prepares (the company's CorpID, the API base URL pointing at the mock,
 * a recipient with a WeCom user id): they are not meant to be started from the debug menu.
 */
import { registry } from "@web/core/registry";

const APP_NAME = "Tour Notifications";
const MESSAGE = "Hello from the wecom_base tour";

/** WeCom manager: create an application and test its connection. */
registry.category("web_tour.tours").add("wecom_base_tour_application", {
    url: "/odoo/action-wecom_base.wecom_application_action",
    steps: () => [
        {
            content: "Create an application",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Its name",
            trigger: ".o_form_view .o_field_widget[name=app_name] input",
            run: `edit ${APP_NAME}`,
        },
        {
            content: "Its AgentId",
            trigger: ".o_form_view .o_field_widget[name=agent_id] input",
            run: "edit 1000002",
        },
        {
            content: "Its secret (a password field)",
            trigger: ".o_form_view .o_field_widget[name=secret] input[type=password]",
            run: "edit mock-secret-1000002",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save:enabled",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "The CorpID comes from the company (shown once saved)",
            trigger: ".o_form_view .o_field_widget[name=corp_id]:contains(ww0000000000mock0)",
        },
        {
            content: "Test the connection",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "WeCom answered",
            // 18.0 shows the title in .o_notification_title, 19.0 inside .o_notification_content: match the text
            trigger: ".o_notification:contains(WeCom connection works)",
        },
        {
            content: "What WeCom says of the application is shown",
            trigger: ".o_form_view .o_field_widget[name=wecom_name]:contains(Mock App)",
        },
        {
            content: "No error is shown",
            trigger: ".o_form_view:not(:has(.alert-danger:visible))",
        },
    ],
});

/** WeCom manager: from a user's form, write a text message to the user and send it at once. */
// Started by the test on the recipient's form (/odoo/action-base.action_res_users/<id>): no ``url`` here,
// or the tour service would redirect to it.
registry.category("web_tour.tours").add("wecom_base_tour_send_message", {
    steps: () => [
        {
            content: "The recipient's form is open",
            trigger: ".o_form_view .o_field_widget[name=name] input:value(WeCom Tour Recipient)",
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_control_panel .o_cp_action_menus button:has(.fa-cog)",
            run: "click",
        },
        {
            content: "Send WeCom Message",
            trigger: ".o-dropdown--menu .o_menu_item:contains(Send WeCom Message)",
            run: "click",
        },
        {
            content: "The composer is addressed to the user, through the new application",
            trigger:
                ".modal .o_form_view:has(.o_field_widget[name=user_ids] .o_tag:contains(WeCom Tour Recipient))" +
                ":has(.o_field_widget[name=application_id] input:value(" +
                APP_NAME +
                "))",
        },
        {
            content: "The recipient has a WeCom user id: no warning",
            trigger: ".modal .o_form_view:not(:has(.alert-warning:visible))",
        },
        {
            content: "Write the message",
            trigger: ".modal .o_field_widget[name=content] textarea",
            run: `edit ${MESSAGE}`,
        },
        {
            content: "Send it at once",
            trigger: ".modal .o_field_widget[name=send_now] input",
            run: "check",
        },
        {
            content: "Send",
            trigger: ".modal .modal-footer button[name=action_send]",
            run: "click",
        },
        {
            content: "The message is shown, sent",
            trigger:
                ".o_form_view:has(.o_field_widget[name=content]:contains(" +
                MESSAGE +
                ")) .o_statusbar_status button.o_arrow_button_current[data-value=sent]",
        },
    ],
});

/** WeCom user (not a manager): the application's form shows neither the secret nor the manager buttons. */
// Started by the test on the application's form (/odoo/action-wecom_base.wecom_application_action/<id>).
registry.category("web_tour.tours").add("wecom_base_tour_user_no_secret", {
    steps: () => [
        {
            content: "The application's form is open",
            trigger: ".o_form_view .o_field_widget[name=app_name]:contains(Odoo Notifications)",
        },
        {
            content: "The AgentId is shown",
            trigger: ".o_form_view .o_field_widget[name=agent_id]",
        },
        {
            content: "No secret field",
            trigger: ".o_form_view:not(:has(.o_field_widget[name=secret]))",
        },
        {
            content: "No access token page or field",
            trigger: ".o_form_view:not(:has(.o_field_widget[name=access_token])):not(:has(.o_notebook_headers a:contains(Access Token)))",
        },
        {
            content: "No Test Connection button",
            trigger: ".o_form_view:not(:has(button[name=action_test_connection]))",
        },
    ],
});
