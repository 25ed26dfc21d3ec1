"""Shared pieces of the console's unit tests: an RSA key and its JWKS standing in for the user pool's, tokens signed
with it, and the console application over the unit tests' moto cloud with fakes for the API and operator events."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scripts.console.auth import AuthError, TokenVerifier, issuer

REGION, POOL, CLIENT = "us-east-1", "us-east-1_console", "console-client"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "console-test-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks() -> dict[str, Any]:
    numbers = KEY.public_key().public_numbers()
    return {
        "keys": [
            {
                "kid": KID,
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                "e": _b64(numbers.e.to_bytes(3, "big")),
            }
        ]
    }


def token(key: Any = KEY, header: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """An ID token of an operator `ops` signed with `key`; keyword claims override, `drop` removes."""
    now = int(time.time())
    body = {
        "sub": "11111111-2222-3333-4444-555555555555",
        "iss": issuer(REGION, POOL),
        "aud": CLIENT,
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "cognito:username": "ops",
        "cognito:groups": ["admins"],
    }
    body.update(claims)
    for name in drop:
        body.pop(name, None)
    head = header or {"alg": "RS256", "kid": KID}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(body).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def other_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verifier() -> TokenVerifier:
    return TokenVerifier(
        issuer=issuer(REGION, POOL), client_id=CLIENT, jwks_url="https://jwks.invalid", fetch=lambda _url: jwks()
    )


@dataclass
class FakeResponse:
    status: int
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeApi:
    """The stack's API as the console calls it: DELETE /orders/{id} with the operator's token."""

    answer: tuple[int, dict[str, Any]] = (202, {})
    calls: list[tuple[str, str]] = field(default_factory=list)

    def cancel_order(self, order_id: str, token: str | None = None) -> FakeResponse:
        self.calls.append((order_id, token))
        status, body = self.answer
        return FakeResponse(status, json.dumps(body or {"orderId": order_id, "status": "CANCELLED"}).encode())


@dataclass
class FakeEvents:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{len(self.entries)}"}]}


def sign_in(username: str, password: str) -> str:
    if (username, password) != ("ops", "Right-password-1!"):
        raise AuthError("Wrong user name or password.")
    return token()


def make_app(tmp_path: Path, outputs: dict[str, Any], api: FakeApi, events: FakeEvents) -> Any:
    import boto3

    from scripts.console.app import ConsoleApp
    from scripts.console.audit import AuditLog
    from scripts.console.views import Console

    console = Console(
        env="local",
        outputs=outputs,
        client=lambda service: boto3.client(service, region_name=REGION),
        resource=lambda service: boto3.resource(service, region_name=REGION),
        api=api,
        operator_events=lambda: events,
    )
    return ConsoleApp(console, verifier(), AuditLog(tmp_path / "audit" / "console.jsonl"), sign_in, port=PORT)
