/**
 * The form and list of wecom.message follow the outbox (js_class wecom_message_form / wecom_message_list).
 *
 * When the outbox changes messages (sent, failed, queued again, cancelled, recalled), the server sends
 * "wecom.message/changed" ({ ids }) on the bus to each partner who may read them, once per committed batch
 * (wecom.message._wecom_bus_notify). An open form showing one of those messages reloads it, and an open list
 * reloads those of its rows, unless the user is editing them: unsaved changes are never thrown away.
 */
import { onWillUnmount } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { FormController } from "@web/views/form/form_controller";
import { formView } from "@web/views/form/form_view";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";

export const WECOM_MESSAGE_CHANGED = "wecom.message/changed";

/** Call ``onChanged(ids)`` on each "wecom.message/changed" notification while the component lives. */
export function useWeComMessageChanged(onChanged) {
    const busService = useService("bus_service");
    const callback = ({ ids }) => onChanged(new Set(ids));
    busService.subscribe(WECOM_MESSAGE_CHANGED, callback);
    onWillUnmount(() => busService.unsubscribe(WECOM_MESSAGE_CHANGED, callback));
}

/**
 * Reload ``record`` with what the server has now, unless the user changed it: then their save writes their
 * changes (never the outbox's fields, which the form cannot write) and shows what the outbox did.
 *
 * @returns {Promise<boolean>} whether it was reloaded
 */
export async function reloadUnlessDirty(record) {
    if (!record.resId || (await record.isDirty())) {
        return false;
    }
    await record.load();
    return true;
}

/** The records a (possibly grouped) list shows. */
export function shownRecords(list) {
    if (list.groups) {
        return list.groups.filter((group) => !group.isFolded).flatMap((group) => shownRecords(group.list));
    }
    return list.records;
}

export class WeComMessageFormController extends FormController {
    setup() {
        super.setup();
        useWeComMessageChanged((ids) => {
            const record = this.model.root;
            if (ids.has(record.resId)) {
                return reloadUnlessDirty(record);
            }
        });
    }
}

export class WeComMessageListController extends ListController {
    setup() {
        super.setup();
        useWeComMessageChanged((ids) => {
            const changed = shownRecords(this.model.root).filter(
                (record) => ids.has(record.resId) && !record.isInEdition
            );
            return Promise.all(changed.map(reloadUnlessDirty));
        });
    }
}

registry.category("views").add("wecom_message_form", {
    ...formView,
    Controller: WeComMessageFormController,
});

registry.category("views").add("wecom_message_list", {
    ...listView,
    Controller: WeComMessageListController,
});
