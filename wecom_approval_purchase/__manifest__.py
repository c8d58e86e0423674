# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom Approvals for Purchase Orders",
    "summary": "Purchase orders approved in WeCom's approval app: approved is confirmed, rejected stays a draft",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    "auto_install": True,
    "depends": ["wecom_approval", "purchase"],
    "data": ["views/purchase_order_views.xml"],
}
