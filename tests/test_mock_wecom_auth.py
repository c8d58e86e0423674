"""The mock WeCom's login side: ``auth/getuserinfo`` with single-use, expiring codes, and the two login pages
(web login and in-client OAuth2) that send the browser back with a code."""

from urllib.parse import parse_qs, urlsplit

import pytest

from wecom_base.tests.mock_wecom import DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET

GETUSERINFO = "/cgi-bin/auth/getuserinfo"
SSO_LOGIN = "/wwlogin/sso/login"
OAUTH2 = "/connect/oauth2/authorize"
BACK = "https://odoo.example.com/wecom/auth/callback"  # the default app's redirect_domain is odoo.example.com


@pytest.fixture
def web(mock):
    """Plain HTTP to the mock, as a browser or a WeCom client would send it (the control client's session)."""
    return mock._http


@pytest.fixture
def token(mock, web):
    answer = web.get(mock.url + "/cgi-bin/gettoken", params={"corpid": DEFAULT_CORP_ID, "corpsecret": DEFAULT_SECRET})
    return answer.json()["access_token"]


def getuserinfo(mock, web, token, code):
    params = {"access_token": token, **({"code": code} if code is not None else {})}
    return web.get(mock.url + GETUSERINFO, params=params, timeout=5).json()


def test_member_code_gives_userid_once(mock, web, token):
    code = mock.login_code(userid="zhangsan")
    assert getuserinfo(mock, web, token, code) == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}
    again = getuserinfo(mock, web, token, code)
    assert (again["errcode"], again["errmsg"]) == (40029, "invalid code")
    assert "userid" not in again
    assert mock.login_stats() == {"issued": 1, "used": 1, "pending": 0}
    assert mock.count(GETUSERINFO) == 2


def test_non_member_code_gives_openid(mock, web, token):
    answer = getuserinfo(mock, web, token, mock.login_code(openid="oAbCdEf-non-member"))
    assert answer == {"errcode": 0, "errmsg": "ok", "openid": "oAbCdEf-non-member"}


def test_code_expires(mock, web, token):
    code = mock.login_code(userid="zhangsan")
    mock.travel(301)
    assert getuserinfo(mock, web, token, code)["errcode"] == 40029
    short = mock.login_code(userid="zhangsan", expires_in=10)
    mock.travel(9)
    assert getuserinfo(mock, web, token, short)["userid"] == "zhangsan"


def test_code_errors(mock, web, token):
    assert getuserinfo(mock, web, token, "not-a-code")["errcode"] == 40029
    missing = getuserinfo(mock, web, token, None)
    assert (missing["errcode"], missing["errmsg"]) == (41008, "missing code")
    assert getuserinfo(mock, web, "x" * 64, mock.login_code(userid="a"))["errcode"] == 40014
    assert web.get(mock.url + GETUSERINFO, params={"code": "c"}).json()["errcode"] == 41001


def test_code_bound_to_its_corp(mock, web, token):
    mock.add_app("wwothercorp000001", "other-secret", 1000009)
    other = web.get(
        mock.url + "/cgi-bin/gettoken", params={"corpid": "wwothercorp000001", "corpsecret": "other-secret"}
    )
    code = mock.login_code(userid="zhangsan")
    assert getuserinfo(mock, web, other.json()["access_token"], code)["errcode"] == 40029
    assert getuserinfo(mock, web, token, mock.login_code(userid="lisi"))["userid"] == "lisi"
    other_code = mock.login_code(userid="wang", corp_id="wwothercorp000001")
    assert getuserinfo(mock, web, token, other_code)["errcode"] == 40029


def test_codes_are_distinct_and_reset(mock, web, token):
    codes = {mock.login_code(userid="zhangsan") for _ in range(20)}
    assert len(codes) == 20
    mock.reset()
    assert mock.login_stats() == {"issued": 0, "used": 0, "pending": 0}


@pytest.mark.parametrize("data", [{}, {"userid": "a", "openid": "b"}, {"userid": "a", "bogus": 1}])
def test_mint_refuses_bad_requests(mock, web, data):
    response = web.post(mock.url + "/_mock/auth/codes", json=data, timeout=5)
    assert response.status_code == 400
    assert response.json()["ok"] is False


def page_params(path, **extra):
    params = {"appid": DEFAULT_CORP_ID, "agentid": str(DEFAULT_AGENT_ID), "redirect_uri": BACK, "state": "st-1"}
    params.update(login_type="CorpApp") if path == SSO_LOGIN else params.update(
        response_type="code", scope="snsapi_base"
    )
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize("path", [SSO_LOGIN, OAUTH2])
def test_login_page_redirects_back_with_a_code(mock, web, token, path):
    mock.login_as(userid="zhangsan")
    response = web.get(mock.url + path, params=page_params(path), allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == BACK
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["state"] == "st-1"
    assert getuserinfo(mock, web, token, query["code"])["userid"] == "zhangsan"

    mock.login_as(openid="oNonMember")
    response = web.get(mock.url + path, params=page_params(path, state=None), allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert "state" not in query, "no state sent, none sent back"
    assert getuserinfo(mock, web, token, query["code"][0])["openid"] == "oNonMember"


@pytest.mark.parametrize("path", [SSO_LOGIN, OAUTH2])
def test_login_page_without_anybody_shows_a_page(mock, web, path):
    response = web.get(mock.url + path, params=page_params(path), allow_redirects=False, timeout=5)
    assert response.status_code == 200
    assert "Scan with WeCom" in response.text
    assert mock.login_stats()["issued"] == 0


@pytest.mark.parametrize(
    ("path", "change", "problem"),
    [
        (SSO_LOGIN, {"appid": "wwunknown"}, "unknown appid"),
        (SSO_LOGIN, {"agentid": "42"}, "unknown agentid"),
        (SSO_LOGIN, {"login_type": "ServiceApp"}, "wrong login_type"),
        (OAUTH2, {"scope": "snsapi_userinfo"}, "wrong response_type, scope"),
        (SSO_LOGIN, {"redirect_uri": None}, "redirect_uri missing"),
        (SSO_LOGIN, {"redirect_uri": "https://evil.example.net/cb"}, "trusted domain"),
        (OAUTH2, {"redirect_uri": "https://odoo.example.com.evil.net/cb"}, "trusted domain"),
    ],
)
def test_login_page_refuses_what_wecom_refuses(mock, web, path, change, problem):
    mock.login_as(userid="zhangsan")
    response = web.get(mock.url + path, params=page_params(path, **change), allow_redirects=False, timeout=5)
    assert response.status_code == 400
    assert problem in response.text
    assert mock.login_stats()["issued"] == 0


def test_trusted_domain_with_port(mock, web):
    mock.add_app(DEFAULT_CORP_ID, "second-secret", 1000003, redirect_domain="127.0.0.1:8069")
    mock.login_as(userid="zhangsan")
    ok = page_params(SSO_LOGIN, agentid="1000003", redirect_uri="http://127.0.0.1:8069/wecom/auth/callback")
    assert web.get(mock.url + SSO_LOGIN, params=ok, allow_redirects=False).status_code == 302
    wrong_port = dict(ok, redirect_uri="http://127.0.0.1:8070/wecom/auth/callback")
    assert web.get(mock.url + SSO_LOGIN, params=wrong_port, allow_redirects=False).status_code == 400


def test_login_as_refuses_both(mock, web):
    response = web.post(mock.url + "/_mock/auth/login_as", json={"userid": "a", "openid": "b"}, timeout=5)
    assert response.status_code == 400


def test_login_codes_masked_in_log_lines():
    from wecom_base.lib import redact  # noqa: PLC0415 - the addon's client core, importable without Odoo
    from wecom_base.tests.mock_wecom import mask  # noqa: PLC0415

    line = "GET /cgi-bin/auth/getuserinfo?access_token=TOKEN123&code=CODE4567 errcode=40029"
    for masked in (redact(line), mask(line)):
        assert "CODE4567" not in masked and "TOKEN123" not in masked
        assert "code=***" in masked and "errcode=40029" in masked, "errcode is not a code"
