"""Black-box OIDC check against the running local stack, as a relying party would do:
discovery document -> jwks_uri -> PyJWT's PyJWKClient verifies a fresh id token with
`iss` and `aud` checked exactly (what API Gateway's JWT authorizer checks); the sample
`/me` route takes that token and refuses an expired one.

Usage: check_discovery.py BASE_URL AUDIENCE KEYS_FILE
"""

import json
import sys
import time
import urllib.error
import urllib.request
import uuid

import jwt

base, audience, keys_file = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


status, discovery = call("GET", "/.well-known/openid-configuration")
assert status == 200, (status, discovery)
status, signup = call("POST", "/signup", {"email": f"oidc-{uuid.uuid4().hex}@example.com", "password": "correct horse battery"})
assert status == 201, (status, signup)
id_token = signup["tokens"]["idToken"]

signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(id_token)
claims = jwt.decode(
    id_token,
    signing_key.key,
    algorithms=discovery["id_token_signing_alg_values_supported"],
    audience=audience,
    issuer=discovery["issuer"],
    options={"require": ["exp", "iat", "iss", "aud", "sub"]},
)
assert claims["iss"] == discovery["issuer"], claims

status, me = call("GET", "/me", token=id_token)
assert status == 200 and me["claims"]["sub"] == claims["sub"], (status, me)

with open(keys_file) as f:
    key = json.load(f)["idTokenKeys"][0]
expired = dict(claims, iat=int(time.time()) - 3600, exp=int(time.time()) - 1800)
expired_token = jwt.encode(expired, key["privateKeyPem"], algorithm="RS256", headers={"kid": key["kid"]})
status, body = call("GET", "/me", token=expired_token)
assert status == 401 and body["error"]["type"] == "invalid-token", (status, body)
print("oidc: discovery, JWKS verification with PyJWKClient, iss/aud and /me: ok")
