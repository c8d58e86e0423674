from . import hr_department
from . import hr_employee
from . import wecom_department
from . import wecom_member
from . import wecom_application
