"""WeCom's approval API (WECOM_PROTOCOL.md §2.13): paths, statuses and the control types this addon fills."""

PATH_TEMPLATE_DETAIL = "/cgi-bin/oa/gettemplatedetail"
PATH_APPLY = "/cgi-bin/oa/applyevent"
PATH_DETAIL = "/cgi-bin/oa/getapprovaldetail"

# WeCom's sp_status -> wecom.approval.request.state (1 pending; 6 revoked after approval, 7 deleted: revoked)
SP_STATES = {1: "pending", 2: "approved", 3: "rejected", 4: "revoked", 6: "revoked", 7: "revoked", 10: "approved"}

# the control types an Odoo field can fill; any other type (Selector, Attendance, Vacation...) cannot
FILLABLE = ("Text", "Textarea", "Number", "Money", "Date", "Contact", "File", "Table")
PDF_FIELD = "__pdf__"  # a File control filled with the document's PDF
SUMMARY_LINES = 3  # WeCom shows up to three summary lines in its lists
POLL_BATCH = 100  # pending requests asked about per cron run
