# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom Approvals for Purchase",
    "summary": "Request approval of RFQs in WeCom; the decision confirms the purchase order or keeps it a draft",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    "auto_install": True,
    "depends": ["wecom_approval", "purchase"],
    "data": [
        "security/wecom_approval_purchase_security.xml",
        "security/ir.model.access.csv",
        "views/purchase_order_views.xml",
    ],
}
