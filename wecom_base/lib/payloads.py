"""The JSON bodies of ``message/send`` (application messages) and ``webhook/send`` (group robots).

Pure functions of plain values: they know WeCom's shapes (path/90236, path/91770), not Odoo. The outbox
model reads its fields and calls them (``wecom.message._wecom_prepare_payload__<msgtype>``), so an addon
that adds a message type adds a builder method there and may reuse these.
"""

import base64
import hashlib

# WeCom's limits of one application message (path/90236)
MAX_USERS = 1000
MAX_PARTIES = 100
MAX_TAGS = 100
DUPLICATE_CHECK_DEFAULT = 1800
DUPLICATE_CHECK_MAX = 4 * 3600
# ... and of its content, in UTF-8 bytes unless said otherwise (robots: path/91770)
CONTENT_MAX_BYTES = 2048  # text, and application markdown
ROBOT_MARKDOWN_MAX_BYTES = 4096
CARD_TITLE_MAX_BYTES = 128  # text card and news article titles
CARD_DESCRIPTION_MAX_BYTES = 512  # text card and news article descriptions
BUTTON_TEXT_MAX_CHARS = 4  # characters, not bytes
NEWS_MAX_ARTICLES = 8

ROBOT_MSGTYPES = ("text", "markdown", "image", "news", "file", "template_card")


def split_ids(value):
    """``"a|b, c"`` or ``["a", "b"]`` -> ``["a", "b", "c"]`` (empty parts dropped, order kept, no duplicates)."""
    if not value:
        return []
    if isinstance(value, str):
        parts = value.replace(",", "|").replace("\n", "|").split("|")
    else:
        parts = [str(part) for part in value]
    seen, result = set(), []
    for part in (p.strip() for p in parts):
        if part and part not in seen:
            seen.add(part)
            result.append(part)
    return result


def utf8_len(text):
    """Length of ``text`` in UTF-8 bytes (WeCom's limits are in bytes)."""
    return len((text or "").encode("utf-8"))


def application_message(msgtype, body, agentid, recipients, safe=0, enable_id_trans=False, duplicate_check=None):
    """The body of ``message/send``.

    :param str msgtype: the message type, also the key of ``body``
    :param dict body: the type's own part (e.g. :func:`text`)
    :param int agentid: the sending application
    :param dict recipients: ``touser``, ``toparty``, ``totag`` lists (empty ones are left out)
    :param int safe: 0 shareable, 1 confidential, 2 within the company
    :param int duplicate_check: seconds of WeCom's duplicate check, or None for no check
    :rtype: dict
    """
    payload = {key: "|".join(recipients[key]) for key in ("touser", "toparty", "totag") if recipients.get(key)}
    payload.update({"msgtype": msgtype, "agentid": agentid, msgtype: body})
    payload["safe"] = int(safe or 0)
    payload["enable_id_trans"] = int(bool(enable_id_trans))
    payload["enable_duplicate_check"] = int(bool(duplicate_check))
    if duplicate_check:
        payload["duplicate_check_interval"] = int(duplicate_check)
    return payload


def robot_message(msgtype, body):
    """The body of ``webhook/send``."""
    return {"msgtype": msgtype, msgtype: body}


def text(content):
    """``text`` and ``markdown`` bodies."""
    return {"content": content}


def textcard(title, description, url, btntxt=None):
    card = {"title": title, "description": description, "url": url}
    if btntxt:
        card["btntxt"] = btntxt
    return card


def article(title, url, description=None, picurl=None):
    """One article of a ``news`` message."""
    item = {"title": title, "url": url}
    if description:
        item["description"] = description
    if picurl:
        item["picurl"] = picurl
    return item


def news(articles):
    return {"articles": list(articles)}


def media(media_id):
    """``image`` and ``file`` bodies of an application message (an uploaded media)."""
    return {"media_id": media_id}


def template_card(title=None, description=None, url=None, content=None, extra=None):
    """A ``text_notice`` template card; ``extra`` (WeCom's own card fields) is merged over it."""
    card = {
        "card_type": "text_notice",
        "main_title": {"title": title or "", "desc": description or ""},
        "card_action": {"type": 1, "url": url} if url else {"type": 0},
    }
    if content:
        card["sub_title_text"] = content
    card.update(extra or {})
    return card


def robot_text(content, mentioned=(), mention_all=False, mobiles=()):
    """A group robot ``text`` body with its @mentions."""
    body = {"content": content}
    mentioned = list(mentioned) + (["@all"] if mention_all else [])
    if mentioned:
        body["mentioned_list"] = mentioned
    if mobiles:
        body["mentioned_mobile_list"] = list(mobiles)
    return body


def robot_image(content):
    """A group robot ``image`` body: the picture itself, base64 with its MD5."""
    return {"base64": base64.b64encode(content).decode("ascii"), "md5": hashlib.md5(content).hexdigest()}
