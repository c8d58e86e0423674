from . import test_wecom_mail
