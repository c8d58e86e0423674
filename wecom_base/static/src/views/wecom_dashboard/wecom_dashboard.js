/**
 * The WeCom dashboard (wecom_base.wecom_dashboard_action): the kanban of the applications with the setup
 * checklist of the current company above the cards. The checklist comes from the server
 * (wecom.application.wecom_dashboard_checklist, empty for non-managers) and is shown while a step is missing.
 */
import { Component, onWillStart, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { registry } from "@web/core/registry";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { KanbanRenderer } from "@web/views/kanban/kanban_renderer";

export class WeComSetupChecklist extends Component {
    static template = "wecom_base.SetupChecklist";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ items: [] });
        onWillStart(async () => {
            this.state.items = await this.orm.call("wecom.application", "wecom_dashboard_checklist", []);
        });
    }

    get missing() {
        return this.state.items.filter((item) => !item.done);
    }

    open(item) {
        this.action.doAction(item.action);
    }
}

export class WeComDashboardRenderer extends KanbanRenderer {
    static template = "wecom_base.DashboardRenderer";
    static components = { ...KanbanRenderer.components, WeComSetupChecklist };
}

registry.category("views").add("wecom_dashboard_kanban", {
    ...kanbanView,
    Renderer: WeComDashboardRenderer,
});
