# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom HR",
    "summary": "The WeCom directory as Odoo departments and employees (WeCom departments and members, kept in sync)",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    # listed under Apps (its default filter) beside WeCom, so the suite is found together
    "application": True,
    "depends": ["wecom_base", "hr"],
    "data": [
        "views/hr_views.xml",
    ],
    "assets": {
        "web.assets_tests": ["wecom_hr/static/tests/tours/*.js"],
    },
}
