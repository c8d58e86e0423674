/**
 * Browser tour of the callback setup (issue 27), run by wecom_base/tests/test_tour.py: a WeCom manager creates a
 * callback from Callbacks > New, generates its Token and EncodingAESKey, and finds them readable and copyable
 * next to the callback URL, with a warning that a 127.0.0.1 base URL is not reachable by WeCom.
 */
import { registry } from "@web/core/registry";

const APP_NAME = "Tour Callback App";

registry.category("web_tour.tours").add("wecom_base_tour_callback", {
    url: "/odoo/action-wecom_base.wecom_callback_action",
    steps: () => [
        {
            content: "New callback",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "The application picker offers the company's applications",
            trigger: ".o_form_view .o_field_widget[name=application_id] input",
            run: `edit ${APP_NAME}`,
        },
        {
            content: "Choose it",
            trigger: `.o-autocomplete--dropdown-item:contains(${APP_NAME})`,
            run: "click",
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
            content: "Generate the Token and the EncodingAESKey",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_generate_credentials]",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The Token is readable (not a password input) and has a copy button",
            trigger:
                ".o_form_view .o_field_widget[name=callback_token] input:not([type=password])",
        },
        {
            content: "Token copy button",
            trigger: ".o_form_view .o_field_widget[name=callback_token]:has(.o_clipboard_button)",
        },
        {
            content: "The EncodingAESKey is readable and copyable",
            trigger: ".o_form_view .o_field_widget[name=encoding_aes_key]:has(.o_clipboard_button)",
        },
        {
            content: "The callback URL is copyable",
            trigger: ".o_form_view .o_field_widget[name=callback_url]:has(.o_clipboard_button)",
        },
        {
            content: "A 127.0.0.1 base URL is flagged: WeCom needs a public https address",
            trigger: ".o_form_view .alert-warning:contains(public https)",
        },
    ],
});

/** The same form in Chinese: the warning and the buttons an admin of a Chinese company reads. */
registry.category("web_tour.tours").add("wecom_base_tour_callback_zh", {
    steps: () => [
        {
            content: "The button is in Chinese",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_generate_credentials]:contains(生成 Token)",
        },
        {
            content: "The URL warning is in Chinese",
            trigger: ".o_form_view .alert-warning:contains(企业微信无法访问)",
        },
        {
            content: "The URL's label is in Chinese",
            trigger: ".o_form_view label:contains(回调 URL)",
        },
    ],
});
