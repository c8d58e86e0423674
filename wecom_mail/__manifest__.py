# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "WeCom Notifications",
    "summary": "Odoo's notifications and activities in WeCom: open the document in one tap, mark activities done "
    "and reply from the chat",
    "version": "1.0.0",
    "category": "Productivity/WeCom",
    "website": "https://github.com/wecom-base/wecom_base",
    "author": "wecom_base contributors",
    "license": "LGPL-3",
    "installable": True,
    "application": True,
    "depends": ["wecom_base", "mail"],
    "data": [
        "security/wecom_mail_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/wecom_mail_notification_views.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
    ],
}
