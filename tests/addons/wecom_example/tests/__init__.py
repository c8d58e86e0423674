from . import test_wecom_example_ticket
from . import test_wecom_example_callback
