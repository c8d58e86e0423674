/**
 * Browser tour of an automation rule that sends a WeCom message (issue 27), run by wecom_base/tests/test_tour.py:
 * a user changes a contact's city in its form, and the rule "tell the salesperson in WeCom" queues the templated
 * message (the test then checks what WeCom received).
 */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("wecom_base_tour_automation", {
    steps: () => [
        {
            content: "Change the contact's city",
            trigger: ".o_form_view .o_field_widget[name=city] input",
            run: "edit Beijing",
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
    ],
});
