from . import test_wecom_auth
from . import test_wecom_auth_http
from . import test_tour
