"""Kashflow sandbox: the two-step session token, KfToken header, sliding expiry, logout and lock-out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from integrations.kashflow.sandbox import ManualClock, Store

from .conftest import ACCOUNT_LOCKED, INVALID_SESSION, PASSWORD, USER, WORD, answers, call, login

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def step1(app: Any, username: str = USER, password: str = PASSWORD) -> Any:
    return call(app, "POST", "/v2/sessiontoken", {"UserName": username, "Password": password})


def step2(app: Any, challenge: dict[str, Any], word: str = WORD) -> Any:
    return call(app, "PUT", "/v2/sessiontoken",
                {"TemporaryToken": challenge["TemporaryToken"], "MemorableWordList": answers(challenge, word)})


def test_step_one_answers_201_with_temporary_token_and_three_positions(app: Any) -> None:
    reply = step1(app)
    assert reply.status == 201
    challenge = reply.json()
    positions = [p["Position"] for p in challenge["MemorableWordList"]]
    assert len(set(positions)) == 3 and all(1 <= p <= len(WORD) for p in positions)  # 1-based, within the word
    assert all(p["Value"] == "" for p in challenge["MemorableWordList"])
    assert GUID.match(challenge["TemporaryToken"]) and challenge["IsLockedOut"] is False
    assert {"HasTemporaryPassword", "IsAdmin", "PackageName", "SubscriptionExpired"} <= set(challenge)


def test_step_two_is_case_insensitive_and_issues_a_guid_session_token(app: Any) -> None:
    challenge = step1(app).json()
    upper = [{"position": a["Position"], "value": a["Value"].upper()} for a in answers(challenge)]
    reply = call(app, "PUT", "/v2/sessiontoken", {"temporarytoken": challenge["TemporaryToken"],
                                                   "memorablewordlist": upper})
    assert reply.status == 200
    body = reply.json()
    assert GUID.match(body["SessionToken"]) and body["CompanyName"] == "Inkwell & Grain Design Studio Ltd"
    headers = {"Authorization": f"KfToken {body['SessionToken']}"}
    assert call(app, "GET", "/v2/invoices", headers=headers).status == 200


def test_lower_case_login_keys_accepted(app: Any) -> None:
    assert call(app, "POST", "/v2/sessiontoken", {"username": USER, "password": PASSWORD}).status == 201


def test_wrong_password_or_word_is_400_invalid_credentials(app: Any) -> None:
    reply = step1(app, password="nope")
    assert reply.status == 400 and reply.json()["Error"] == "InvalidCredentials" and reply.json()["Message"]
    assert step1(app, username="nobody").json()["Error"] == "InvalidCredentials"
    reply = step2(app, step1(app).json(), word="#########")
    assert reply.status == 400 and reply.json()["Error"] == "InvalidCredentials"


def test_temporary_token_is_single_use_and_expires_after_five_minutes(app: Any, clock: ManualClock) -> None:
    challenge = step1(app).json()
    assert step2(app, challenge).status == 200
    assert step2(app, challenge).status == 400
    challenge = step1(app).json()
    clock.advance(301)
    assert step2(app, challenge).status == 400


def test_fifth_failure_locks_the_account_with_the_documented_401(app: Any, store: Store) -> None:
    assert [step1(app, password=f"bad{i}").status for i in range(5)] == [400, 400, 400, 400, 401]
    reply = step1(app)  # even the right password is refused now
    assert reply.status == 401 and reply.json() == ACCOUNT_LOCKED
    assert store.locked_users() == [USER]
    assert call(app, "POST", "/_sandbox/unlock").json() == {"unlocked": 1}
    assert step1(app).status == 201


def test_wrong_memorable_words_count_towards_lock_out(app: Any) -> None:
    for _ in range(4):
        assert step2(app, step1(app).json(), word="zzzzzzzzz").status == 400
    assert step2(app, step1(app).json(), word="zzzzzzzzz").json() == ACCOUNT_LOCKED


def test_successful_login_resets_failure_count(app: Any, store: Store) -> None:
    for _ in range(4):
        step1(app, password="bad")
    login(app)
    assert store.login_state(USER) == {"failed_logins": 0, "locked": False}


def test_session_expires_after_60_idle_minutes_and_activity_slides_it(app: Any, clock: ManualClock) -> None:
    headers = {"Authorization": f"KfToken {login(app)}"}
    for _ in range(3):  # 3 x 59 minutes of activity keeps it alive
        clock.advance(59 * 60)
        assert call(app, "GET", "/v2/customers", headers=headers).status == 200
    clock.advance(61 * 60)
    reply = call(app, "GET", "/v2/customers", headers=headers)
    assert reply.status == 401 and reply.json() == INVALID_SESSION


def test_delete_expires_the_token_immediately(app: Any) -> None:
    token = login(app)
    headers = {"Authorization": f"KfToken {token}"}
    assert call(app, "DELETE", f"/v2/sessiontoken/{token}").status == 204
    assert call(app, "GET", "/v2/customers", headers=headers).json() == INVALID_SESSION
    reply = call(app, "DELETE", f"/v2/sessiontoken/{token}")
    assert reply.status == 401 and reply.json() == INVALID_SESSION


@pytest.mark.parametrize("header", [None, "Bearer abc", "KfToken", "KfToken 00000000-0000-0000-0000-000000000000"])
def test_data_routes_require_a_live_kftoken(app: Any, header: str | None) -> None:
    reply = call(app, "GET", "/v2/invoices", headers={"Authorization": header} if header else None)
    assert reply.status == 401 and reply.json() == INVALID_SESSION


def test_tokens_are_independent_sessions(app: Any) -> None:
    first, second = login(app), login(app)
    assert first != second
    call(app, "DELETE", f"/v2/sessiontoken/{first}")
    assert call(app, "GET", "/v2/metadata", headers={"Authorization": f"KfToken {second}"}).status == 200
