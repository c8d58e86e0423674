"""WeCom callback crypto (``wecom_base/lib/crypto.py``), without Odoo.

Expected values come from published vectors or from the reference helpers below, which use only
``hashlib`` and ``cryptography`` primitives and none of the module's code.
"""

import base64
import hashlib
import hmac
import struct
import time
import types

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lxml import etree

from wecom_base.lib import crypto as crypto_module
from wecom_base.lib.crypto import WeComCallbackCrypto, WeComCryptoError, parse_xml

# --- Published vectors ---------------------------------------------------------------------------
# WeCom's official Python sample: repository sbzhu/weworkapi_python, file callback/Sample.py
# (commit 27220fbe9d5251d46101e33751568eae9f413666). VerifyURL (example 1) and DecryptMsg (example 2);
# the decrypted message of example 2 is the very XML the same file encrypts in example 3 (sRespData).
OFFICIAL = {
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "corp_id": "ww1436e0e65a779aee",
    "verify_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "verify_timestamp": "1476416373",
    "verify_nonce": "47744683",
    "verify_echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
    "post_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "post_timestamp": "1476422779",
    "post_nonce": "1597212914",
    "post_body": (
        b"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
        b"Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNs"
        b"hw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh0"
        b"10wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfS"
        b"sPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n"
        b"<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
    ),
    "post_plaintext": (
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
        "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
        "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    ).encode(),
}

# wechatpy's WeChat Work crypto tests: repository wechatpy/wechatpy, file tests/test_crypto.py
# (commit 3d560725881d69a5a8aca7a36f98e06dd8975042): test_encrypt_message fixes the random prefix to
# "1234567890123456" and publishes the resulting Encrypt value and MsgSignature.
WECHATPY = {
    "token": "123456",
    "aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    "corp_id": "wx49f0ab532d5d035a",
    "echo_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    "echo_timestamp": "1411443780",
    "echo_nonce": "437374425",
    "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
    "reply_random": b"1234567890123456",
    "reply_nonce": "461056294",
    "reply_timestamp": "1411525903",
    "reply": (
        "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
        "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
        "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
        "<CreateTime>1411525903</CreateTime>\n</xml>"
    ),
    "reply_encrypt": (
        "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8Gqxlh"
        "ZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+"
        "/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAt"
        "QmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
    ),
    "reply_signature": "407518b7649e86ef23978113f92d27afa9296533",
}

TOKEN = "Tok3nForTests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID = "wwTestCorp0001"
NOW = 1_700_000_000


# --- Independent reference implementation (hashlib + cryptography only) ---------------------------


def ref_signature(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def ref_key(encoding_aes_key):
    key = base64.b64decode(encoding_aes_key + "=")
    assert len(key) == 32
    return key


def ref_aes_decrypt_raw(encoding_aes_key, encrypted_b64):
    """AES-256-CBC decrypt without removing anything: the padded plaintext."""
    key = ref_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypted_b64)) + decryptor.finalize()


def ref_aes_encrypt_raw(encoding_aes_key, raw):
    """AES-256-CBC encrypt ``raw`` as is (its length must be a multiple of 16): base64 text."""
    assert len(raw) % 16 == 0
    key = ref_key(encoding_aes_key)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def ref_unpack(encoding_aes_key, encrypted_b64):
    """Decrypt and split: (random16, message, receive_id, pad value)."""
    plain = ref_aes_decrypt_raw(encoding_aes_key, encrypted_b64)
    pad = plain[-1]
    assert plain[-pad:] == bytes([pad]) * pad
    content = plain[:-pad]
    (length,) = struct.unpack(">I", content[16:20])
    return content[:16], content[20 : 20 + length], content[20 + length :], pad


def ref_pack(message, receive_id, random16=b"R" * 16, pad_bytes=None):
    """Build the plaintext WeCom encrypts, with correct (or the given) padding."""
    body = random16 + struct.pack(">I", len(message)) + message + receive_id
    if pad_bytes is None:
        pad = 32 - len(body) % 32
        pad_bytes = bytes([pad]) * pad
    return body + pad_bytes


@pytest.fixture
def wc():
    return WeComCallbackCrypto(TOKEN, AES_KEY, CORP_ID)


def post_body(encrypted, to_user=CORP_ID):
    return (
        f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><AgentID>1000002</AgentID>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    ).encode()


def assert_code(code, func, *args, **kwargs):
    with pytest.raises(WeComCryptoError) as info:
        func(*args, **kwargs)
    assert info.value.code == code, f"expected {code!r}, got {info.value.code!r}: {info.value}"
    message = str(info.value)
    assert TOKEN not in message and AES_KEY not in message
    return info.value


# --- Published vectors ------------------------------------------------------------------------------


def test_official_sample_verify_url():
    wc = WeComCallbackCrypto(OFFICIAL["token"], OFFICIAL["aes_key"], OFFICIAL["corp_id"])
    echo = wc.verify_url(
        OFFICIAL["verify_signature"],
        OFFICIAL["verify_timestamp"],
        OFFICIAL["verify_nonce"],
        OFFICIAL["verify_echostr"],
        now=int(OFFICIAL["verify_timestamp"]),
    )
    # The sample publishes no plaintext for the echostr: compare with the independent reference.
    _random, message, receive_id, _pad = ref_unpack(OFFICIAL["aes_key"], OFFICIAL["verify_echostr"])
    assert receive_id == OFFICIAL["corp_id"].encode()
    assert isinstance(echo, str)
    assert echo == message.decode()
    assert echo == "1288432023552776189"


def test_official_sample_decrypt_message():
    wc = WeComCallbackCrypto(OFFICIAL["token"], OFFICIAL["aes_key"], OFFICIAL["corp_id"])
    plain = wc.decrypt_message(
        OFFICIAL["post_signature"],
        OFFICIAL["post_timestamp"],
        OFFICIAL["post_nonce"],
        OFFICIAL["post_body"],
        now=int(OFFICIAL["post_timestamp"]) + 10,
    )
    assert plain == OFFICIAL["post_plaintext"]
    message = parse_xml(plain)
    assert message["Content"] == "你好"
    assert message["FromUserName"] == "ChenJiaShun"
    assert message["AgentID"] == "1000002"


def test_official_sample_signature():
    wc = WeComCallbackCrypto(OFFICIAL["token"], OFFICIAL["aes_key"], OFFICIAL["corp_id"])
    signature = wc.signature(OFFICIAL["verify_timestamp"], OFFICIAL["verify_nonce"], OFFICIAL["verify_echostr"])
    assert signature == OFFICIAL["verify_signature"]


def test_wechatpy_vector_encrypt_with_fixed_random():
    wc = WeComCallbackCrypto(WECHATPY["token"], WECHATPY["aes_key"], WECHATPY["corp_id"])
    encrypted = wc.encrypt(WECHATPY["reply"], random16=WECHATPY["reply_random"])
    assert encrypted == WECHATPY["reply_encrypt"]
    signature = wc.signature(WECHATPY["reply_timestamp"], WECHATPY["reply_nonce"], encrypted)
    assert signature == WECHATPY["reply_signature"]
    assert wc.decrypt(WECHATPY["reply_encrypt"]) == WECHATPY["reply"].encode()


def test_wechatpy_vector_echostr():
    wc = WeComCallbackCrypto(WECHATPY["token"], WECHATPY["aes_key"], WECHATPY["corp_id"])
    wc.check_signature(
        WECHATPY["echo_signature"], WECHATPY["echo_timestamp"], WECHATPY["echo_nonce"], WECHATPY["echostr"]
    )
    echo = wc.verify_url(
        WECHATPY["echo_signature"],
        WECHATPY["echo_timestamp"],
        WECHATPY["echo_nonce"],
        WECHATPY["echostr"],
        now=int(WECHATPY["echo_timestamp"]),
    )
    assert echo == ref_unpack(WECHATPY["aes_key"], WECHATPY["echostr"])[1].decode()
    # wechatpy's negative case: one digit of the nonce changed
    assert_code(
        "signature",
        wc.check_signature,
        WECHATPY["echo_signature"],
        WECHATPY["echo_timestamp"],
        "437374424",
        WECHATPY["echostr"],
    )


# --- Round trips and format --------------------------------------------------------------------------


def test_round_trip_chinese(wc):
    text = "企业微信回调：你好，世界！<xml>&amp;</xml> 🚀"
    encrypted = wc.encrypt(text)
    assert isinstance(encrypted, str)
    assert wc.decrypt(encrypted) == text.encode("utf-8")
    # and the reference reads the same layout: random16, length, message, receive id
    _random, message, receive_id, _pad = ref_unpack(AES_KEY, encrypted)
    assert message == text.encode("utf-8")
    assert receive_id == CORP_ID.encode()


def test_round_trip_bytes_and_empty(wc):
    assert wc.decrypt(wc.encrypt(b"\x00\x01binary\xff")) == b"\x00\x01binary\xff"
    assert wc.decrypt(wc.encrypt("")) == b""


def test_reference_encryption_decrypts(wc):
    encrypted = ref_aes_encrypt_raw(AES_KEY, ref_pack("中文消息".encode(), CORP_ID.encode()))
    assert wc.decrypt(encrypted) == "中文消息".encode()


@pytest.mark.parametrize("size", range(70))
def test_padding_to_32_bytes(wc, size):
    encrypted = wc.encrypt(b"m" * size)
    ciphertext = base64.b64decode(encrypted)
    assert len(ciphertext) % 32 == 0
    plain = ref_aes_decrypt_raw(AES_KEY, encrypted)
    pad = plain[-1]
    assert 1 <= pad <= 32
    assert plain[-pad:] == bytes([pad]) * pad
    unpadded = 16 + 4 + size + len(CORP_ID)
    assert len(plain) - pad == unpadded
    assert pad == 32 - unpadded % 32  # a full block of 32 when already aligned


def test_full_pad_block(wc):
    size = 32 * 3 - (16 + 4 + len(CORP_ID))  # unpadded body is exactly 96 bytes
    plain = ref_aes_decrypt_raw(AES_KEY, wc.encrypt(b"x" * size))
    assert len(plain) == 128
    assert plain[-32:] == bytes([32]) * 32


def test_random_prefix_differs(wc):
    first, second = wc.encrypt("same text"), wc.encrypt("same text")
    assert first != second
    assert ref_unpack(AES_KEY, first)[0] != ref_unpack(AES_KEY, second)[0]


def test_fixed_random_prefix_is_used(wc):
    encrypted = wc.encrypt("x", random16=b"0123456789abcdef")
    assert ref_unpack(AES_KEY, encrypted)[0] == b"0123456789abcdef"
    assert wc.encrypt("x", random16=b"0123456789abcdef") == encrypted
    with pytest.raises(ValueError):
        wc.encrypt("x", random16=b"short")


def test_signature_matches_reference(wc):
    assert wc.signature("1700000000", "nonce1", "ENC+/=") == ref_signature(TOKEN, "1700000000", "nonce1", "ENC+/=")
    # sorted, not in argument order: swapping arguments does not change the value
    assert wc.signature("b", "a", "c") == ref_signature("a", "b", "c", TOKEN)


# --- Signature ---------------------------------------------------------------------------------------


def test_check_signature_accepts_valid(wc):
    encrypted = wc.encrypt("hi")
    wc.check_signature(ref_signature(TOKEN, "1700000000", "n", encrypted), "1700000000", "n", encrypted)


@pytest.mark.parametrize(
    "bad",
    [
        "0" * 40,
        "",
        None,
        "签名",
        "DD6B9C95B495B3F7E2901BFBC76C664930FFDB96",
    ],
)
def test_check_signature_rejects(wc, bad):
    assert_code("signature", wc.check_signature, bad, "1700000000", "n", "ENC")


def test_check_signature_rejects_other_token(wc):
    other = ref_signature("OtherToken", "1700000000", "n", "ENC")
    assert_code("signature", wc.check_signature, other, "1700000000", "n", "ENC")
    good = ref_signature(TOKEN, "1700000000", "n", "ENC")
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert_code("signature", wc.check_signature, flipped, "1700000000", "n", "ENC")


def test_check_signature_uses_compare_digest(wc, monkeypatch):
    assert crypto_module.hmac is hmac
    calls = []
    verdict = {"value": None}

    def spy(a, b):
        calls.append((a, b))
        return hmac.compare_digest(a, b) if verdict["value"] is None else verdict["value"]

    monkeypatch.setattr(crypto_module, "hmac", types.SimpleNamespace(compare_digest=spy))
    good = ref_signature(TOKEN, "1700000000", "n", "ENC")
    wc.check_signature(good, "1700000000", "n", "ENC")
    assert len(calls) == 1
    assert {bytes(x) if not isinstance(x, str) else x.encode() for x in calls[0]} == {good.encode()}
    # the verdict of compare_digest decides, nothing else
    verdict["value"] = False
    assert_code("signature", wc.check_signature, good, "1700000000", "n", "ENC")
    assert len(calls) == 2


def test_receive_id_uses_compare_digest(wc, monkeypatch):
    calls = []

    def spy(a, b):
        calls.append((a, b))
        return hmac.compare_digest(a, b)

    monkeypatch.setattr(crypto_module, "hmac", types.SimpleNamespace(compare_digest=spy))
    wc.decrypt(ref_aes_encrypt_raw(AES_KEY, ref_pack(b"m", CORP_ID.encode())))
    assert (CORP_ID.encode(), CORP_ID.encode()) in [(bytes(a), bytes(b)) for a, b in calls]


# --- Timestamp ---------------------------------------------------------------------------------------


def test_timestamp_window(wc):
    assert wc.check_timestamp(str(NOW), now=NOW) == NOW
    assert wc.check_timestamp(str(NOW - 300), now=NOW) == NOW - 300
    assert wc.check_timestamp(str(NOW + 300), now=NOW) == NOW + 300
    assert wc.check_timestamp(str(NOW - 50), now=NOW, window=60) == NOW - 50
    assert_code("timestamp", wc.check_timestamp, str(NOW - 301), now=NOW)  # stale
    assert_code("timestamp", wc.check_timestamp, str(NOW + 301), now=NOW)  # future
    assert_code("timestamp", wc.check_timestamp, str(NOW - 61), now=NOW, window=60)


def test_timestamp_default_now_is_the_clock(wc):
    wc.check_timestamp(str(int(time.time())))
    assert_code("timestamp", wc.check_timestamp, str(int(time.time()) - 3600))
    assert_code("timestamp", wc.check_timestamp, "1476416373")  # the 2016 sample, replayed today


@pytest.mark.parametrize(
    "bad", ["", "abc", "12.5", " 1700000000", "1700000000\n", "-1700000000", "١٧٠٠٠٠٠٠٠٠", None, "9" * 40]
)
def test_timestamp_not_integer(wc, bad):
    assert_code("timestamp", wc.check_timestamp, bad, now=NOW)


def test_verify_url_stale_but_signed(wc):
    echostr = wc.encrypt("12345")
    stale = str(NOW - 3600)
    assert_code("timestamp", wc.verify_url, ref_signature(TOKEN, stale, "n", echostr), stale, "n", echostr, now=NOW)
    future = str(NOW + 3600)
    assert_code("timestamp", wc.verify_url, ref_signature(TOKEN, future, "n", echostr), future, "n", echostr, now=NOW)
    fresh = str(NOW)
    assert wc.verify_url(ref_signature(TOKEN, fresh, "n", echostr), fresh, "n", echostr, now=NOW) == "12345"


def test_decrypt_message_stale_but_signed(wc):
    encrypted = wc.encrypt("<xml/>")
    for moment in (str(NOW - 301), str(NOW + 301), "1476422779"):
        signature = ref_signature(TOKEN, moment, "n", encrypted)
        assert_code("timestamp", wc.decrypt_message, signature, moment, "n", post_body(encrypted), now=NOW)
    signature = ref_signature(TOKEN, "abc", "n", encrypted)
    assert_code("timestamp", wc.decrypt_message, signature, "abc", "n", post_body(encrypted), now=NOW)


def test_verify_url_bad_signature(wc):
    echostr = wc.encrypt("12345")
    bad = ref_signature(TOKEN, str(NOW), "other-nonce", echostr)
    assert_code("signature", wc.verify_url, bad, str(NOW), "n", echostr, now=NOW)


# --- Decryption failures -----------------------------------------------------------------------------


def signed_decrypt(wc, encrypted):
    """decrypt_message with a valid signature, so that only decryption can fail."""
    signature = ref_signature(TOKEN, str(NOW), "n", encrypted)
    return wc.decrypt_message(signature, str(NOW), "n", post_body(encrypted), now=NOW)


TAMPER_MESSAGE = b"a message long enough to span several AES blocks of the ciphertext"


def _flip(encrypted, index, mask=0x04):
    raw = bytearray(base64.b64decode(encrypted))
    raw[index] ^= mask
    return base64.b64encode(raw).decode()


def test_tampered_ciphertext(wc):
    encrypted = wc.encrypt(TAMPER_MESSAGE, random16=b"fixed-random-16b")
    size = len(base64.b64decode(encrypted))
    # CBC: flipping byte i of a ciphertext block flips byte i of the next plaintext block.
    # Byte 0 of block 1 -> byte 16 of the plaintext, the high byte of the length prefix.
    assert_code("decrypt", wc.decrypt, _flip(encrypted, 0, 0x80))
    assert_code("decrypt", signed_decrypt, wc, _flip(encrypted, 0, 0x80))
    # The last ciphertext byte -> the last plaintext block (receive id and padding) is garbled.
    with pytest.raises(WeComCryptoError) as info:
        wc.decrypt(_flip(encrypted, size - 1))
    assert info.value.code in {"decrypt", "receive_id"}
    # The byte 16 before the first receive id byte -> that byte flips; the garbled block is message only.
    receive_id_at = 16 + 4 + len(TAMPER_MESSAGE)
    assert (receive_id_at - 16) // 16 >= 2
    assert_code("receive_id", wc.decrypt, _flip(encrypted, receive_id_at - 16))
    # The byte 16 before the last padding byte -> the pad value is no longer consistent.
    assert_code("decrypt", wc.decrypt, _flip(encrypted, size - 1 - 16, 0x40))


def test_tampered_message_bytes_need_the_signature(wc):
    # AES-CBC has no MAC: a flip that only lands in the message decrypts to another message.
    # That is why decrypt_message checks the signature (which covers the ciphertext) first.
    encrypted = wc.encrypt(TAMPER_MESSAGE, random16=b"fixed-random-16b")
    # ciphertext byte 40 garbles plaintext bytes 32-47 and flips byte 56: all message bytes (20-85)
    tampered = _flip(encrypted, 40)
    altered = wc.decrypt(tampered)
    assert altered != TAMPER_MESSAGE
    assert len(altered) == len(TAMPER_MESSAGE)
    signature = ref_signature(TOKEN, str(NOW), "n", encrypted)
    assert_code("signature", wc.decrypt_message, signature, str(NOW), "n", post_body(tampered), now=NOW)
    assert wc.decrypt_message(signature, str(NOW), "n", post_body(encrypted), now=NOW) == TAMPER_MESSAGE


def test_tampered_ciphertext_breaks_signature(wc):
    encrypted = wc.encrypt("hello")
    signature = ref_signature(TOKEN, str(NOW), "n", encrypted)
    tampered = base64.b64encode(bytes([base64.b64decode(encrypted)[0] ^ 1]) + base64.b64decode(encrypted)[1:]).decode()
    assert_code("signature", wc.decrypt_message, signature, str(NOW), "n", post_body(tampered), now=NOW)


@pytest.mark.parametrize("drop", [1, 5, 16, 31])
def test_truncated_ciphertext(wc, drop):
    raw = base64.b64decode(wc.encrypt("truncated message"))
    truncated = base64.b64encode(raw[:-drop]).decode()
    error = assert_code("decrypt", wc.decrypt, truncated)
    if drop % 16:
        assert "multiple of 16" in str(error)


def test_empty_ciphertext(wc):
    assert_code("decrypt", wc.decrypt, "")


@pytest.mark.parametrize("bad", ["not base64!!", "abc", "YWJj\n", "中文", "====", "YWJjZA=x"])
def test_bad_base64(wc, bad):
    assert_code("decrypt", wc.decrypt, bad)


@pytest.mark.parametrize(
    "pad_bytes",
    [
        b"\x00" * 32,  # pad value 0
        bytes([33]) * 32,  # above 32
        bytes([0xFF]) * 32,
        b"\x05" * 31 + b"\x04",  # inconsistent: 4 announced, but they are 5s
        b"\x01" * 28 + b"\x02\x03\x03\x04",  # inconsistent pad bytes
    ],
)
def test_bad_padding(wc, pad_bytes):
    body = ref_pack(b"m" * (32 - 20 - len(CORP_ID) % 32 + 32), CORP_ID.encode(), pad_bytes=b"")
    assert len(body) % 32 == 0
    encrypted = ref_aes_encrypt_raw(AES_KEY, body + pad_bytes)
    assert_code("decrypt", wc.decrypt, encrypted)
    assert_code("decrypt", signed_decrypt, wc, encrypted)


@pytest.mark.parametrize("pad", [33, 48, 255])
def test_consistent_padding_above_32(wc, pad):
    # every pad byte agrees, but WeCom pads to 32 bytes at most
    body = b"R" * 16 + struct.pack(">I", 1) + b"m" + CORP_ID.encode()
    body += b"x" * ((-len(body) - pad) % 16)
    raw = body + bytes([pad]) * pad
    assert len(raw) % 16 == 0 and raw[-pad:] == bytes([pad]) * pad
    assert_code("decrypt", wc.decrypt, ref_aes_encrypt_raw(AES_KEY, raw))


def test_padding_longer_than_plaintext(wc):
    assert_code("decrypt", wc.decrypt, ref_aes_encrypt_raw(AES_KEY, bytes([32]) * 16))


@pytest.mark.parametrize("declared", [2**32 - 1, 1000, 11])
def test_length_prefix_out_of_bounds(wc, declared):
    message = b"0123456789"
    body = b"R" * 16 + struct.pack(">I", declared) + message
    pad = 32 - len(body) % 32
    encrypted = ref_aes_encrypt_raw(AES_KEY, body + bytes([pad]) * pad)
    assert_code("decrypt", wc.decrypt, encrypted)


def test_too_short_for_header(wc):
    encrypted = ref_aes_encrypt_raw(AES_KEY, b"R" * 16 + bytes([16]) * 16)
    assert_code("decrypt", wc.decrypt, encrypted)


@pytest.mark.parametrize("other", ["wwOtherCorp", CORP_ID + "x", CORP_ID[:-1], CORP_ID.lower()])
def test_wrong_receive_id(wc, other):
    sender = WeComCallbackCrypto(TOKEN, AES_KEY, other)
    encrypted = sender.encrypt("<xml><Content>hi</Content></xml>")
    error = assert_code("receive_id", wc.decrypt, encrypted)
    assert "hi" not in str(error)
    assert_code("receive_id", signed_decrypt, wc, encrypted)
    # and the same ciphertext is fine for its own receiver
    assert sender.decrypt(encrypted) == b"<xml><Content>hi</Content></xml>"


def test_empty_trailing_receive_id(wc):
    encrypted = ref_aes_encrypt_raw(AES_KEY, ref_pack(b"message", b""))
    assert_code("receive_id", wc.decrypt, encrypted)


def test_verify_url_echostr_not_utf8(wc):
    echostr = wc.encrypt(b"\xff\xfe\xfa")
    signature = ref_signature(TOKEN, str(NOW), "n", echostr)
    assert_code("decrypt", wc.verify_url, signature, str(NOW), "n", echostr, now=NOW)


# --- Configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "a" * 33, "tok-en", "tok en", "токен", "tok\n", None, 123456])
def test_bad_token(token):
    assert_code("token", WeComCallbackCrypto, token, AES_KEY, CORP_ID)


def test_token_limits():
    WeComCallbackCrypto("a" * 32, AES_KEY, CORP_ID)
    WeComCallbackCrypto("Z", AES_KEY, CORP_ID)


@pytest.mark.parametrize(
    "key",
    [
        AES_KEY[:-1],  # 42 characters
        AES_KEY + "A",  # 44
        AES_KEY[:-1] + "=",  # padding inside
        AES_KEY[:-1] + "!",
        AES_KEY[:-1] + "中",
        "",
        None,
        ref_key(AES_KEY),  # bytes, not the text form
    ],
)
def test_bad_aes_key(key):
    error = assert_code("aes_key", WeComCallbackCrypto, TOKEN, key, CORP_ID)
    if isinstance(key, str) and len(key) > 4:
        assert key not in str(error)


def test_receive_id_required():
    assert_code("receive_id", WeComCallbackCrypto, TOKEN, AES_KEY, "")
    assert_code("receive_id", WeComCallbackCrypto, TOKEN, AES_KEY, None)


def test_key_derivation(wc):
    # the key is base64decode(EncodingAESKey + "="): a message from the reference decrypts
    other = WeComCallbackCrypto(TOKEN, "B" + AES_KEY[1:], CORP_ID)
    encrypted = ref_aes_encrypt_raw(AES_KEY, ref_pack(b"m", CORP_ID.encode()))
    assert wc.decrypt(encrypted) == b"m"
    with pytest.raises(WeComCryptoError):
        other.decrypt(encrypted)


def test_repr_hides_secrets(wc):
    assert TOKEN not in repr(wc)
    assert AES_KEY not in repr(wc)
    assert CORP_ID in repr(wc)


# --- XML -----------------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><Content>&lol9;</Content><Encrypt>&lol9;</Encrypt></xml>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content><Encrypt>&xxe;</Encrypt></xml>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<xml><Content>x</Content></xml>"""


def test_parse_xml_message():
    data = (
        "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Content><![CDATA[你好 <b>&]]></Content>"
        "<CreateTime>1700000000</CreateTime><Empty/><!-- comment --><AgentID>1000002</AgentID>"
        "<ExtAttr><Item><Name>a</Name></Item><Item><Name>b</Name></Item></ExtAttr>"
        "<Nested><Inner>x</Inner></Nested></xml>"
    ).encode()
    assert parse_xml(data) == {
        "ToUserName": "ww1",
        "Content": "你好 <b>&",
        "CreateTime": "1700000000",
        "Empty": "",
        "AgentID": "1000002",
        "ExtAttr": {"Item": [{"Name": "a"}, {"Name": "b"}]},
        "Nested": {"Inner": "x"},
    }


def test_parse_xml_allows_declaration_bom_and_lookalike_text():
    data = (
        '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><xml>'
        "<Content><![CDATA[<!DOCTYPE html><!ENTITY x 'y'>]]></Content></xml>"
    ).encode("utf-8")
    assert parse_xml(data) == {"Content": "<!DOCTYPE html><!ENTITY x 'y'>"}


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE xml><xml><a>1</a></xml>",
        b"<!doctype xml><xml><a>1</a></xml>",
        b'<?xml version="1.0"?>\n<!-- x -->\n<!DocType xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml/>',
        XXE,
        XXE_PARAMETER,
        BILLION_LAUGHS,
    ],
)
def test_parse_xml_refuses_dtd(data):
    assert_code("xml", parse_xml, data)


def test_xxe_never_reads_the_file():
    error = assert_code("xml", parse_xml, XXE)
    assert "root:" not in str(error)


def test_billion_laughs_refused_fast():
    start = time.perf_counter()
    assert_code("xml", parse_xml, BILLION_LAUGHS)
    assert time.perf_counter() - start < 1


def test_dtd_refused_even_past_the_prolog_scan(monkeypatch):
    # the second barrier alone (parser without entities + docinfo check) refuses them too, fast
    monkeypatch.setattr(crypto_module, "_check_prolog", lambda text: None)
    start = time.perf_counter()
    for data in (BILLION_LAUGHS, XXE, XXE_PARAMETER, b"<!DOCTYPE xml><xml><a>1</a></xml>"):
        error = assert_code("xml", parse_xml, data)
        assert "root:" not in str(error)
    assert time.perf_counter() - start < 1


@pytest.fixture
def parser_options(monkeypatch):
    """The keyword options of every lxml XMLParser created during the test (the parser still works)."""
    created = []
    real_parser = etree.XMLParser

    def spy(*args, **kwargs):
        created.append(kwargs)
        return real_parser(*args, **kwargs)

    monkeypatch.setattr(etree, "XMLParser", spy)
    return created


def test_dtd_and_non_utf8_refused_before_parsing(parser_options):
    # the cheap checks come first: a hostile document never reaches libxml2
    created = parser_options
    for data in (BILLION_LAUGHS, XXE, b"<!doctype xml><xml/>", "<xml><a>你好</a></xml>".encode("gbk")):
        assert_code("xml", parse_xml, data)
    assert created == []


def test_parser_is_hardened(parser_options):
    # the parser itself resolves, loads and fetches nothing (the barrier behind the DOCTYPE refusal)
    created = parser_options
    assert parse_xml(b"<xml><a>1</a></xml>") == {"a": "1"}
    assert len(created) == 1
    options = created[0]
    assert options.get("resolve_entities") is False
    assert options.get("no_network") is True
    assert options.get("load_dtd") is False
    assert options.get("dtd_validation") is False
    assert options.get("huge_tree") is False


@pytest.mark.parametrize(
    "data",
    [
        "<xml><Content>你好</Content></xml>".encode("gbk"),
        '<?xml version="1.0" encoding="GBK"?><xml><Content>你好</Content></xml>'.encode("gbk"),
        "<xml><Content>x</Content></xml>".encode("utf-16"),
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><xml/>'.encode("utf-16"),
        b"<xml><Content>\xff\xfe</Content></xml>",
    ],
)
def test_parse_xml_refuses_non_utf8(data):
    assert_code("xml", parse_xml, data)


@pytest.mark.parametrize(
    "data",
    [b"", b"not xml", b'{"encrypt": "x"}', b"<xml><a>1</a>", b"<xml><a>&undefined;</a></xml>", b"<xml/><xml/>", None],
)
def test_parse_xml_refuses_malformed(data):
    assert_code("xml", parse_xml, data)


def test_decrypt_message_refuses_hostile_body(wc):
    signature = ref_signature(TOKEN, str(NOW), "n", "x")
    for body in (XXE, BILLION_LAUGHS, b"not xml", "<xml><Encrypt>x</Encrypt></xml>".encode("utf-16")):
        assert_code("xml", wc.decrypt_message, signature, str(NOW), "n", body, now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>ww</ToUserName></xml>",
        b"<xml><Encrypt></Encrypt></xml>",
        b"<xml><Wrapper><Encrypt>abc</Encrypt></Wrapper></xml>",  # only a direct child counts
    ],
)
def test_decrypt_message_missing_encrypt(wc, body):
    assert_code("xml", wc.decrypt_message, "0" * 40, str(NOW), "n", body, now=NOW)


def test_decrypt_message_signature_covers_encrypt_text(wc):
    message = "<xml><Content><![CDATA[回调]]></Content></xml>"
    encrypted = wc.encrypt(message)
    body = post_body(encrypted)
    over_body = ref_signature(TOKEN, str(NOW), "n", body.decode())
    assert_code("signature", wc.decrypt_message, over_body, str(NOW), "n", body, now=NOW)
    over_encrypt = ref_signature(TOKEN, str(NOW), "n", encrypted)
    assert wc.decrypt_message(over_encrypt, str(NOW), "n", body, now=NOW) == message.encode()


# --- Passive reply -----------------------------------------------------------------------------------


def test_encrypt_reply_round_trip(wc):
    reply = "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName><MsgType>text</MsgType><Content>收到</Content></xml>"
    envelope = wc.encrypt_reply(reply, "1372623149", "1700000123")
    assert isinstance(envelope, str)
    root = etree.fromstring(envelope.encode())
    assert root.tag == "xml"
    assert [child.tag for child in root] == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    encrypted = root.findtext("Encrypt")
    assert f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>" in envelope
    assert root.findtext("TimeStamp") == "1700000123"
    assert "<TimeStamp>1700000123</TimeStamp>" in envelope
    assert "<Nonce><![CDATA[1372623149]]></Nonce>" in envelope
    assert root.findtext("MsgSignature") == ref_signature(TOKEN, "1700000123", "1372623149", encrypted)
    assert f"<MsgSignature><![CDATA[{root.findtext('MsgSignature')}]]></MsgSignature>" in envelope
    _random, message, receive_id, _pad = ref_unpack(AES_KEY, encrypted)
    assert message == reply.encode()
    assert receive_id == CORP_ID.encode()
    # the envelope is also a valid signed POST body for the same application
    assert (
        wc.decrypt_message(root.findtext("MsgSignature"), "1700000123", "1372623149", envelope.encode(), now=1700000123)
        == reply.encode()
    )


def test_encrypt_reply_default_timestamp(wc):
    before = int(time.time())
    root = etree.fromstring(wc.encrypt_reply("<xml/>", "n").encode())
    after = int(time.time())
    assert before <= int(root.findtext("TimeStamp")) <= after
    assert root.findtext("MsgSignature") == ref_signature(
        TOKEN, root.findtext("TimeStamp"), "n", root.findtext("Encrypt")
    )


def test_encrypt_reply_refuses_bad_input(wc):
    assert_code("xml", wc.encrypt_reply, "<xml/>", "a]]>b", "1700000000")
    assert_code("timestamp", wc.encrypt_reply, "<xml/>", "n", "soon")


# --- Messages never leak secrets or plaintext ----------------------------------------------------------


def test_error_messages_do_not_leak(wc):
    secret_text = "TopSecretPlaintext"
    errors = []
    sender = WeComCallbackCrypto(TOKEN, AES_KEY, "wwOther")
    for func, args in [
        (wc.decrypt, (sender.encrypt(secret_text),)),
        (wc.verify_url, ("0" * 40, str(NOW), "n", wc.encrypt(secret_text))),
        (parse_xml, (f"<xml><a>{secret_text}</a>".encode(),)),
        (WeComCallbackCrypto, (TOKEN + "-", AES_KEY, CORP_ID)),
        (WeComCallbackCrypto, (TOKEN, AES_KEY + "x", CORP_ID)),
    ]:
        with pytest.raises(WeComCryptoError) as info:
            func(*args)
        errors.append(info.value)
    for error in errors:
        text = f"{error} {error!r} {error.args}"
        assert secret_text not in text
        assert TOKEN not in text
        assert AES_KEY not in text
        assert error.__cause__ is None
