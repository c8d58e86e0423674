# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom Example: Tickets",
    "summary": "Worked example for addon developers: tell a ticket's assignee on WeCom with wecom_base",
    "version": "1.0.0",
    "category": "Hidden",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    "depends": ["wecom_base"],
    "data": [
        "security/ir.model.access.csv",
        "views/wecom_example_ticket_views.xml",
    ],
}
