/**
 * Issue 27, item 6: an open message form follows the outbox. Run by
 * wecom_base/tests/test_tour.py (test_message_form_follows_the_outbox), started on the form of a queued message.
 *
 * The message is sent behind the form's back (Send Now called over RPC, as another tab or the cron would): only
 * the bus notification "wecom.message/changed" can make the form show it sent, without a reload of the page.
 */
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

function messageId() {
    return Number(window.location.pathname.split("/").pop());
}

function callKw(method, ids) {
    return rpc(`/web/dataset/call_kw/wecom.message/${method}`, {
        model: "wecom.message",
        method,
        args: [ids],
        kwargs: {},
    });
}

function busService() {
    return odoo.__WOWL_DEBUG__.root.env.services.bus_service;
}

registry.category("web_tour.tours").add("wecom_base_tour_message_refresh", {
    steps: () => [
        {
            content: "The form shows the message queued",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=outgoing]",
        },
        {
            content: "The outbox sends it elsewhere (not through this form)",
            trigger: ".o_form_view .o_form_saved",
            async run() {
                window.wecomTourSamePage = true; // gone if the page reloads
                await callKw("action_send_now", [messageId()]);
                // 18.0's test cursor never sends the commit's NOTIFY: subscribing again fetches the notification
                // (on 19.0 it came already)
                busService().forceUpdateChannels();
            },
        },
        {
            content: "The form shows it sent, by itself",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=sent]",
        },
        {
            content: "Its buttons follow: Send Now is gone, Recall is offered",
            trigger:
                ".o_form_view:not(:has(button[name=action_send_now])) .o_statusbar_buttons button[name=action_recall]",
            run() {
                if (!window.wecomTourSamePage) {
                    throw new Error("the page was reloaded: the form did not refresh by itself");
                }
            },
        },
    ],
});

/**
 * Unsaved changes are never thrown away: started on the form of a draft, which the user edits; the message is
 * queued behind the form's back. Once the notification was handled, the user saves: their text must be saved
 * (test_tour.py checks it), which it is not if the form reloaded.
 */
registry.category("web_tour.tours").add("wecom_base_tour_message_refresh_dirty", {
    steps: () => [
        {
            content: "The form shows the draft",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=draft]",
        },
        {
            content: "The user edits its text (not saved)",
            trigger: ".o_form_view .o_field_widget[name=content] textarea",
            run: "edit Edited while queued",
        },
        {
            content: "The message is queued elsewhere",
            trigger: ".o_form_view .o_form_status_indicator",
            async run() {
                const id = messageId();
                // registered after the form's own subscriber: called once the form took the notification
                busService().subscribe("wecom.message/changed", ({ ids }) => {
                    if (ids.includes(id)) {
                        document.body.classList.add("o_wecom_tour_notified");
                    }
                });
                await callKw("action_send", [id]);
                busService().forceUpdateChannels();
            },
        },
        {
            content: "The notification came",
            trigger: "body.o_wecom_tour_notified",
        },
        {
            content: "The text is still the user's",
            trigger: ".o_form_view .o_field_widget[name=content] textarea:value(Edited while queued)",
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

/** The messages list follows the outbox too: the row of a queued message shows it sent, without a reload. */
registry.category("web_tour.tours").add("wecom_base_tour_message_list_refresh", {
    steps: () => [
        {
            content: "The list shows the message queued",
            trigger: ".o_list_view .o_data_row .o_field_widget[name=state]:contains(Queued)",
        },
        {
            content: "The outbox sends it elsewhere",
            trigger: ".o_list_view .o_data_row",
            async run() {
                window.wecomTourSamePage = true; // gone if the page reloads
                const [id] = await rpc("/web/dataset/call_kw/wecom.message/search", {
                    model: "wecom.message",
                    method: "search",
                    args: [[["state", "=", "outgoing"]]],
                    kwargs: {},
                });
                await callKw("action_send_now", [id]);
                busService().forceUpdateChannels();
            },
        },
        {
            content: "Its row shows it sent, by itself",
            trigger: ".o_list_view .o_data_row .o_field_widget[name=state]:contains(Sent)",
            run() {
                if (!window.wecomTourSamePage) {
                    throw new Error("the page was reloaded: the list did not refresh by itself");
                }
            },
        },
    ],
});
