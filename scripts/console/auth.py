"""Who may use the console: an operator (a member of the `admins` group) of the stack's Cognito user pool.

* **Sign-in**: user name + password through the app client (`InitiateAuth USER_PASSWORD_AUTH`, as a client of the
  API does), or an ID token pasted from `invoke customer --email ops@example.com --admin` (which sets a fresh random
  password nobody knows, so the token is what an operator has). Either way the ID token is kept in an HttpOnly,
  SameSite=Strict cookie, and nothing else.
* **Every request** verifies that token: RS256 signature against the pool's JWKS (by `kid`), `alg` RS256, issuer
  `https://cognito-idp.<region>.amazonaws.com/<pool id>`, audience the app client, `token_use` id, `exp` in the
  future (required: a token without one is refused), and membership of `admins` (`cognito:groups`). On AWS the JWKS
  is the pool's public document `https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json`; the
  local emulator (MiniStack) serves the same document for its pools at `<endpoint>/<pool id>/.well-known/jwks.json`
  and signs its tokens with that key, so the console verifies signatures there too (docs/auth.md: MiniStack's tokens
  carry the AWS issuer). A revoked or signed-out token still passes until it expires, as at API Gateway (stateless).
* **CSRF**: every POST carries a token that is the HMAC (SHA-256, a secret made per console process) of the session's
  ID token, checked in constant time; the sign-in form uses a double-submit cookie. SameSite=Strict keeps the cookie
  off cross-site requests as well, and the server answers only Host 127.0.0.1 / localhost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from scripts.auth import ADMIN_GROUP

#: Seconds a fetched JWKS is used before it is fetched again (API Gateway caches up to 2 hours); an unknown `kid`
#: fetches it again at once (a rotated key), at most once a minute.
JWKS_CACHE_SECONDS = 3600
JWKS_REFETCH_SECONDS = 60
#: Clock skew allowed on exp / iat.
LEEWAY_SECONDS = 30


class AuthError(Exception):
    """The request carries no usable operator token; the message says why, in one sentence."""


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issuer(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url(region: str, pool_id: str, local_endpoint: str | None = None) -> str:
    """The pool's JWKS: AWS's public document, or the local emulator's copy of it."""
    if local_endpoint:
        return f"{local_endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return issuer(region, pool_id) + "/.well-known/jwks.json"


def fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups`: a JSON list in a raw token; the strings `"[admins ops]"` / `"admins,ops"` are accepted too."""
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    if isinstance(value, str):
        return frozenset(p for p in value.strip("[]").replace(",", " ").split() if p)
    return frozenset()


def _rsa_verify(jwk: dict[str, Any], signing_input: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(b64url_decode(jwk["e"]), "big"), int.from_bytes(b64url_decode(jwk["n"]), "big")
        )
        numbers.public_key().verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


class TokenVerifier:
    """Verifies an operator's ID token of one user pool (see the module doc); `fetch` gets the JWKS document."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        jwks_url: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer, self.client_id, self.jwks_url = issuer, client_id, jwks_url
        self._fetch, self._clock = fetch, clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def _key(self, kid: str) -> dict[str, Any] | None:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > JWKS_CACHE_SECONDS
            missing = kid not in self._keys and (
                self._fetched_at is None or now - self._fetched_at > JWKS_REFETCH_SECONDS
            )
            if stale or missing:
                try:
                    document = self._fetch(self.jwks_url)
                except Exception as exc:  # noqa: BLE001 - any fetch failure is one sentence for the operator
                    raise AuthError(f"Cannot read the user pool's signing keys ({self.jwks_url}): {exc}.") from None
                self._keys = {k["kid"]: k for k in document.get("keys", []) if isinstance(k, dict) and "kid" in k}
                self._fetched_at = now
            return self._keys.get(kid)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or AuthError saying what is wrong with it."""
        parts = (token or "").split(".")
        if len(parts) != 3 or not all(parts):
            raise AuthError("That is not an ID token (a JWT has three dot-separated parts).")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            raise AuthError("That is not an ID token (its parts are not base64url JSON).") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AuthError("That is not an ID token (its header or claims are not JSON objects).")
        if header.get("alg") != "RS256":
            raise AuthError(f"The token's algorithm is {header.get('alg')!r}, not RS256.")
        key = self._key(str(header.get("kid")))
        if key is None:
            raise AuthError("The token was not signed by a key of this stack's user pool.")
        if not _rsa_verify(key, f"{parts[0]}.{parts[1]}".encode(), signature):
            raise AuthError("The token's signature is not valid.")
        if claims.get("iss") != self.issuer:
            raise AuthError("The token was issued by another user pool.")
        audience = claims.get("aud", claims.get("client_id"))
        if audience != self.client_id and not (isinstance(audience, list) and self.client_id in audience):
            raise AuthError("The token was issued to another app client.")
        if claims.get("token_use") != "id":
            raise AuthError("Use an ID token (token_use id), not an access token.")
        now = self._clock()
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise AuthError("The token has no expiry.")
        if exp + LEEWAY_SECONDS < now:
            raise AuthError("The token has expired: sign in again.")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat - LEEWAY_SECONDS > now:
            raise AuthError("The token was issued in the future: check this machine's clock.")
        if ADMIN_GROUP not in parse_groups(claims.get("cognito:groups")):
            raise AuthError(
                f"{claims.get('cognito:username', 'This user')} is not an operator (group {ADMIN_GROUP}): "
                f"ask for membership (invoke customer --admin)."
            )
        return claims


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256(secret, the session's ID token)."""
    return hmac.new(secret, session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(secret, session_token), str(given))


def sign_in(cognito: Any, client_id: str, username: str, password: str) -> str:
    """An ID token for user name + password (USER_PASSWORD_AUTH through the app client); AuthError otherwise."""
    import botocore.exceptions

    try:
        result = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NotAuthorizedException", "UserNotFoundException"):
            raise AuthError("Wrong user name or password.") from None
        raise AuthError(f"Cognito refused the sign-in ({code}).") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AuthError(f"Cannot reach Cognito: {exc}.") from None
    token = (result.get("AuthenticationResult") or {}).get("IdToken")
    if not token:
        raise AuthError(
            f"Cognito asked for {result.get('ChallengeName')!r} instead of signing in: finish it, then sign in here."
        )
    return token
