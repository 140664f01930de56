from tests.helpers import login, verify


def test_full_flow(api, user_with_totp):
    r = login(api)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "verification_required"
    r = verify(api, body["challenge"], code=user_with_totp.code())
    assert r.status_code == 200, r.content
    print(r.json())
    me = api.get("/api/me/", HTTP_AUTHORIZATION="Token " + r.json()["token"])
    assert me.status_code == 200
