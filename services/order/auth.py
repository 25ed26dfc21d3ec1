"""Who is calling the HTTP API, and what they may touch (docs/auth.md).

API Gateway's JWT authorizer (Cognito user pool issuer, audience = the app client id) has already checked the
token's signature, issuer, audience and lifetime before the Lambda runs; it hands the token's claims to the Lambda as
`requestContext.authorizer.jwt.claims`, every value a string (an array such as `cognito:groups` as `"[a b]"`).

Identity model:
* the customer id is the ID token's `cognito:username` claim (it must satisfy the id rule of every customerId);
* the token's `sub` (immutable, unlike a user name that can be deleted and created again) is recorded on each order
  created over HTTP, and a customer reaches only orders that record their sub or none (order.service);
* a member of the Cognito group `admins` (claim `cognito:groups`) is an operator: reads any order, lists any
  customer's orders and cancels any order (but places orders only in their own name).

Defence in depth behind the authorizer: an HTTP event without usable claims is refused with 401, so a route that
lost its authorizer (or a hand-made event) cannot act as anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.models import is_valid_id

ADMIN_GROUP = "admins"
USERNAME_CLAIM = "cognito:username"
SUB_CLAIM = "sub"
GROUPS_CLAIM = "cognito:groups"
TOKEN_USE_CLAIM = "token_use"


class Unauthenticated(Exception):
    """The HTTP event carries no usable identity (HTTP 401)."""


class Forbidden(Exception):
    """The caller is known but may not do this (HTTP 403)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Caller:
    customer_id: str
    groups: frozenset[str] = frozenset()
    #: the token's `sub`: the user behind the user name (a re-created user name gets a new one)
    sub: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    def may_access(self, customer_id: str) -> bool:
        """Own data, or any customer's data for an operator."""
        return self.is_admin or customer_id == self.customer_id

    @property
    def scope(self) -> str | None:
        """The customer the caller's reads and cancels are restricted to; None for an operator (any customer)."""
        return None if self.is_admin else self.customer_id


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as a JSON list (a raw token), or the string API Gateway makes of it: `"[admins]"`,
    `"[admins ops]"`; a plain space- or comma-separated string is accepted as well."""
    if value is None:
        return frozenset()
    if isinstance(value, (list, tuple)):
        return frozenset(str(v) for v in value if str(v))
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(part for part in text.replace(",", " ").split() if part)


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`requestContext.authorizer.jwt.claims` of an HTTP API (payload 2.0) event, or None."""
    node: Any = event
    for key in ("requestContext", "authorizer", "jwt", "claims"):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, Mapping) else None


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    """The authenticated caller; Unauthenticated (401) without claims, or for a token that is not an ID token, names
    no customer or has no valid `sub`; Forbidden (403) for a username that is not a valid customer id."""
    claims = claims_of(event)
    if not claims:
        raise Unauthenticated("authentication required: send an ID token as `Authorization: Bearer <token>`")
    if claims.get(TOKEN_USE_CLAIM) != "id":
        raise Unauthenticated("an ID token is required (token_use must be 'id')")
    username = claims.get(USERNAME_CLAIM)
    if not isinstance(username, str) or not username:
        raise Unauthenticated(f"the token carries no {USERNAME_CLAIM} claim")
    if not is_valid_id(username):
        raise Forbidden(f"the user name {username!r} is not a valid customer id")
    sub = claims.get(SUB_CLAIM)
    if not is_valid_id(sub):  # Cognito's subs are UUIDs; the id rule bounds what is stored and compared
        raise Unauthenticated(f"the token carries no valid {SUB_CLAIM} claim")
    return Caller(customer_id=username, groups=parse_groups(claims.get(GROUPS_CLAIM)), sub=sub)
