from . import test_wecom_auth
