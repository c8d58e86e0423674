# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom CRM Leads",
    "summary": "A customer a salesperson adds in WeCom becomes a CRM lead (bridge of WeCom CRM and CRM)",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    "auto_install": True,
    "depends": ["wecom_crm", "crm"],
    "data": [
        "data/utm_source_data.xml",
        "views/res_config_settings_views.xml",
    ],
}
