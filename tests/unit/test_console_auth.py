"""The console's token check (scripts/console/auth.py): only a valid ID token of the pool's app client, signed by a
key of the pool's JWKS, unexpired, of a member of `admins`, opens a session; each refusal says why."""

from __future__ import annotations

import time

import pytest

from scripts.console.auth import AuthError, csrf_ok, csrf_token
from tests.unit.console_support import CLIENT, KID, other_key, token, verifier


def test_a_valid_operator_token_gives_its_claims():
    claims = verifier().verify(token())
    assert (claims["cognito:username"], claims["cognito:groups"], claims["aud"]) == ("ops", ["admins"], CLIENT)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: "", "That is not an ID token (a JWT has three dot-separated parts)."),
        (lambda: "a.b", "That is not an ID token (a JWT has three dot-separated parts)."),
        (lambda: "!!.??.**", "That is not an ID token (its parts are not base64url JSON)."),
        (lambda: token(header={"alg": "HS256", "kid": KID}), "The token's algorithm is 'HS256', not RS256."),
        (lambda: token(header={"alg": "none", "kid": KID}), "The token's algorithm is 'none', not RS256."),
        (
            lambda: token(header={"alg": "RS256", "kid": "other"}),
            "The token was not signed by a key of this stack's user pool.",
        ),
        (lambda: token(key=other_key()), "The token's signature is not valid."),
        (
            lambda: token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
            "The token was issued by another user pool.",
        ),
        (lambda: token(aud="another-client"), "The token was issued to another app client."),
        (lambda: token(token_use="access"), "Use an ID token (token_use id), not an access token."),
        (lambda: token(drop=("exp",)), "The token has no expiry."),
        (lambda: token(exp=int(time.time()) - 120), "The token has expired: sign in again."),
        (lambda: token(iat=int(time.time()) + 600), "The token was issued in the future: check this machine's clock."),
        (
            lambda: token(**{"cognito:groups": ["customers"]}),
            "ops is not an operator (group admins): ask for membership (invoke customer --admin).",
        ),
        (
            lambda: token(drop=("cognito:groups",)),
            "ops is not an operator (group admins): ask for membership (invoke customer --admin).",
        ),
    ],
)
def test_refused_tokens_say_why(make, message):
    with pytest.raises(AuthError) as refused:
        verifier().verify(make())
    assert str(refused.value) == message


def test_a_claim_changed_after_signing_breaks_the_signature():
    header, _, signature = token(**{"cognito:groups": ["customers"]}).split(".")
    _, body, _ = token().split(".")  # an admins body under another token's signature
    with pytest.raises(AuthError, match="^The token's signature is not valid.$"):
        verifier().verify(f"{header}.{body}.{signature}")


def test_groups_as_api_gateway_strings_are_understood():
    assert verifier().verify(token(**{"cognito:groups": "[admins ops]"}))["cognito:username"] == "ops"


def test_csrf_token_is_bound_to_the_session():
    secret = b"s" * 32
    assert csrf_ok(secret, "token-a", csrf_token(secret, "token-a"))
    assert not csrf_ok(secret, "token-b", csrf_token(secret, "token-a"))
    assert not csrf_ok(secret, "token-a", None)
    assert not csrf_ok(b"t" * 32, "token-a", csrf_token(secret, "token-a"))
