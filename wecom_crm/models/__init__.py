from . import res_partner
from . import wecom_external_tag
from . import wecom_external_contact
from . import wecom_external_follow
from . import wecom_member
from . import wecom_application
from . import wecom_callback_event
