-- Run by `odoo-bin neutralize` (and by database copies made for testing): a neutralized database must
-- never talk to the real WeCom nor accept its callbacks.
UPDATE wecom_application
   SET active = false,
       secret = 'neutralized';
DELETE FROM wecom_application_token;
UPDATE wecom_robot
   SET active = false,
       webhook_key = NULL;
UPDATE wecom_callback
   SET active = false,
       callback_token = NULL,
       encoding_aes_key = NULL;
-- queued messages stay queued but cannot leave: their applications are disabled
