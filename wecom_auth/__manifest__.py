# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom Login",
    "summary": "Log in to Odoo with WeCom: silently inside the WeCom client, by scanning on the web",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    # listed under Apps (its default filter) beside WeCom, so the suite is found together
    "application": True,
    "depends": ["wecom_base", "web"],
    "assets": {"web.assets_tests": ["wecom_auth/static/tests/tours/*.js"]},
    "data": [
        "security/ir.model.access.csv",
        "views/wecom_auth_templates.xml",
        "views/res_config_settings_views.xml",
    ],
}
