/**
 * Browser tours of wecom_hr (issue 27), run by wecom_hr/tests/test_tour.py: a WeCom manager links the directory's
 * members to Odoo users by e-mail from the Members list, with nothing selected, and the member's employee then
 * shows the user without pressing Sync Employees.
 */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("wecom_hr_tour_link_by_email", {
    steps: () => [
        {
            content: "Link by E-mail is offered with nothing selected",
            trigger: ".o_control_panel button[name=action_link_by_email]",
            run: "click",
        },
        {
            content: "It says how many members it linked",
            trigger: ".o_notification:contains(1 member(s) linked)",
        },
    ],
});

registry.category("web_tour.tours").add("wecom_hr_tour_employee_user", {
    steps: () => [
        {
            content: "Open the employee's settings",
            trigger: ".o_form_view .o_notebook a[name=hr_settings]",
            run: "click",
        },
        {
            content: "The employee is the linked user's",
            trigger: ".o_form_view .o_field_widget[name=user_id] input:value(HR Tour User)",
        },
    ],
});
