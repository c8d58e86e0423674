-- Run by `odoo-bin neutralize`: no pending WeCom login credential survives in a copy of the database.
DELETE FROM wecom_auth_credential;
