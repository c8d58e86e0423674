/**
 * Browser tours of a Chinese company's admin (issue 27), run by wecom_base/tests/test_tour.py: the AgentId reads
 * 1000002 (no thousands separators), and what the background wrote — why a message failed, what became of a
 * callback event — reads in Chinese although the cron that wrote it runs in English.
 */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("wecom_base_tour_zh_agent_id", {
    steps: () => [
        {
            content: "The applications list shows the AgentId as WeCom does",
            trigger: ".o_list_view .o_data_cell[name=agent_id]:contains(1000002)",
            run: "click",
        },
        {
            content: "The form too",
            trigger: ".o_form_view .o_field_widget[name=agent_id] input:value(1000002)",
        },
    ],
});

registry.category("web_tour.tours").add("wecom_base_tour_zh_failure", {
    steps: () => [
        {
            content: "The failure reason, written by the outbox's cron, is in Chinese",
            trigger: ".o_form_view .o_field_widget[name=failure_reason]:contains(所有接收人均无效)",
        },
        {
            content: "The note in the chatter too",
            trigger: ".o-mail-Message:contains(未发送)",
        },
    ],
});

registry.category("web_tour.tours").add("wecom_base_tour_zh_event", {
    steps: () => [
        {
            content: "The result of a received event, written by the callback processing, is in Chinese",
            trigger: ".o_list_view .o_data_cell[name=result]:contains(已忽略)",
        },
    ],
});
