"""Constants of wecom_mail: WeCom's limits on what a card holds (path/90236, path/94888) and our own choices."""

# --- WeCom ---------------------------------------------------------------------------------------
PATH_UPDATE_TEMPLATE_CARD = "/cgi-bin/message/update_template_card"
# Template card texts: WeCom advises 26 Chinese characters for a title, 30 for its description, 112 for the
# sub title, 5 for a key name and 26 for its value (the client shortens longer ones with an ellipsis); Latin text
# is narrower, so these limits leave it some room. Every text stays within 512 bytes (128 for a title, as a text
# card's) in any case.
CARD_TITLE_CHARS = 36
CARD_TITLE_BYTES = 128
CARD_DESC_CHARS = 40
CARD_TEXT_CHARS = 112
CARD_KEYNAME_CHARS = 8
CARD_VALUE_CHARS = 30
CARD_TEXT_BYTES = 512
# task_id: unique per application, at most 128 bytes of [0-9a-zA-Z_-@]
TASK_ID_PREFIX = "odoo_act_"
BUTTON_DONE = "done"
BUTTON_OPEN = "open"
# button_interaction styles: 1 blue (primary), 2 grey
BUTTON_STYLE_PRIMARY = 1
BUTTON_STYLE_DEFAULT = 2
# A text reply to a member (the confirmation of a reply): text content is at most 2048 bytes
TEXT_BYTES = 2048

# --- Ours ----------------------------------------------------------------------------------------
# More notifications than this waiting unsent for one member are folded into one digest card.
DIGEST_AFTER = 3
# A text a member sends is a reply to the most recent notification of the last 24 hours.
REPLY_WINDOW_HOURS = 24
# A post with more reachable recipients than this queues their cards from a cron, after the poster's transaction.
INLINE_RECIPIENTS = 20
