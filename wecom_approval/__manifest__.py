# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom Approvals",
    "summary": "Send Odoo documents into WeCom's approval flows and apply the decisions that come back",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    # listed under Apps (its default filter) beside WeCom, so the suite is found together
    "application": True,
    "depends": ["wecom_base", "mail"],
    "data": [
        "security/wecom_approval_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "views/wecom_approval_views.xml",
    ],
}
