from . import wecom_example_ticket
from . import wecom_callback_event
