"""The admin function through the Lambda invoke API of the local stack, as an
operator's `aws lambda invoke` reaches it in AWS (make dev and make test expose it at
POST /2015-03-31/functions/admin/invocations). Usage: invoke_admin.py <base URL>."""

import json
import sys
import urllib.error
import urllib.request
import uuid

BASE = sys.argv[1].rstrip("/")
PASSWORD = "correct horse battery staple"


def post(path, body, timeout=600):
    """(status, JSON body or None) of a POST; 4xx/5xx are answers, not exceptions."""
    request = urllib.request.Request(
        BASE + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def admin(event):
    status, answer = post("/2015-03-31/functions/admin/invocations", event)
    assert status == 200, (status, answer)
    return answer


PASSED = []


def check(condition, what):
    PASSED.append(what)
    if not condition:
        print(f"admin via the invoke API: FAILED: {what}")
        sys.exit(1)
    print(f"admin via the invoke API: ok: {what}")


email = f"operator-test-{uuid.uuid4().hex}@example.com"
status, signup = post("/signup", {"email": email, "password": PASSWORD})
check(status == 201, "a user signs up")
refresh_token = signup["tokens"]["refreshToken"]

user = admin({"action": "get-user", "email": email})["user"]
check(user["email"] == email and user["disabled"] is False and user["liveSessions"] == 1, "get-user describes it")

answer = admin({"action": "disable-user", "email": email})
check(answer["result"]["disabled"] is True and answer["result"]["sessionsEnded"] == 1, "disable-user")
status, body = post("/signin", {"email": email, "password": PASSWORD})
check(status == 401 and body["error"]["type"] == "invalid-credentials", "a disabled user cannot sign in")
status, body = post("/tokens", {"refreshToken": refresh_token})
check(status == 401, "nor refresh")

admin({"action": "enable-user", "userId": user["id"]})
status, body = post("/signin", {"email": email, "password": PASSWORD})
check(status == 200, "enable-user restores sign-in")
answer = admin({"action": "sign-out-user", "email": email})
check(answer["result"]["sessionsEnded"] == 1, "sign-out-user ends its sessions")
status, _ = post("/tokens", {"refreshToken": body["tokens"]["refreshToken"]})
check(status == 401, "the signed-out session is dead")

check(admin({"action": "get-user", "email": "nobody-" + email})["error"]["type"] == "not-found", "unknown user")
check(admin({"action": "drop-tables", "email": email})["error"]["type"] == "validation-failed", "unknown action")

answer = admin({"action": "delete-user", "email": email})
check(answer["result"]["deleted"] is True, "delete-user")
status, _ = post("/signin", {"email": email, "password": PASSWORD})
check(status == 401, "a deleted user cannot sign in")
print(f"admin via the invoke API: {len(PASSED)} passed, 0 failed")
