from . import test_wecom_hr
from . import test_tour
