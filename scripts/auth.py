"""`invoke customer`: a customer of the order API and an ID token to call it with (docs/auth.md).

A customer is a user of the stack's Cognito user pool (outputs `user_pool_id`, `user_pool_client_id`) whose username
is the customer id; the API takes the customer from the ID token's `cognito:username` claim. Every call sets a fresh
random password (nobody needs to know it) and signs in with it, so a token can always be had again.

    TOKEN=$(invoke customer --env local --email alice@example.com)     # stdout: only the ID token
    curl -H "Authorization: Bearer $TOKEN" ...

`customer_token(env, customer_id, admin=...)` is the same for tests.
"""

from __future__ import annotations

import re
import secrets
import string
import sys
from dataclasses import dataclass
from typing import Any

from scripts.common import UserError, check_env, is_local, read_outputs

#: The id rule of every customerId (docs/api.md); Cognito usernames of customers must satisfy it.
CUSTOMER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: The operators' group (terraform/modules/auth, order/auth.py).
ADMIN_GROUP = "admins"
PASSWORD_SYMBOLS = "!#%*+-=?@^_"


def default_customer_id(email: str) -> str:
    """The customer id derived from an e-mail address: its local part, lower-cased, every run of characters outside
    [a-z0-9_-] replaced by '-', leading '-'/'_' dropped, at most 64 characters (alice.smith+x@... -> alice-smith-x)."""
    local = email.split("@", 1)[0].lower()
    candidate = re.sub(r"[^a-z0-9_-]+", "-", local).lstrip("-_")[:64]
    if not CUSTOMER_ID_RE.fullmatch(candidate):
        raise UserError(
            f"Cannot derive a customer id from '{email}': pass --customer-id matching ^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$."
        )
    return candidate


def check_customer_id(customer_id: str) -> str:
    if not CUSTOMER_ID_RE.fullmatch(customer_id or ""):
        raise UserError(
            f"Customer id '{customer_id}' is invalid: use 1-64 characters [A-Za-z0-9_-] starting with a letter or digit."
        )
    return customer_id


def new_password(length: int = 32) -> str:
    """A random password that satisfies the pool's policy (lower, upper, digit, symbol; at least 12 characters)."""
    alphabet = string.ascii_letters + string.digits + PASSWORD_SYMBOLS
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
            and any(c in PASSWORD_SYMBOLS for c in password)
        ):
            return password


def _fail(env: str, exc: Exception, what: str) -> UserError:
    """One sentence for an AWS error while `what`."""
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return UserError(
            f"No AWS credentials found for env '{env}': configure them (aws configure, AWS_PROFILE) and retry."
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return UserError(f"Cannot reach Cognito for env '{env}' while {what}: is the stack's cloud running?")
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            return UserError(
                f"The user pool of env '{env}' does not exist (was the cloud reset?): deploy again with `invoke deploy --env {env}`."
            )
        return UserError(f"Cognito refused {what} ({code}: {message}).")
    return UserError(f"Unexpected error while {what}: {exc}.")


@dataclass
class UserPool:
    """The deployed stack's user pool and app client, with one cognito-idp client (safe to share between threads)."""

    env: str
    pool_id: str
    client_id: str
    cognito: Any

    @classmethod
    def of(cls, env: str) -> UserPool:
        """From build/<env>/outputs.json; one-sentence errors for an env that is not deployed or predates auth."""
        from scripts import aws_session

        check_env(env)
        outputs = read_outputs(env)
        pool_id, client_id = outputs.get("user_pool_id"), outputs.get("user_pool_client_id")
        if not pool_id or not client_id:
            raise UserError(
                f"The stack of env '{env}' has no user pool in its outputs: redeploy it with `invoke deploy --env {env}`."
            )
        if is_local(env):
            from scripts import local_cloud

            local_cloud.require_up()
        return cls(env, pool_id, client_id, aws_session.aws_client(env, "cognito-idp"))

    def ensure_customer(self, customer_id: str, email: str | None = None, admin: bool | None = None) -> bool:
        """Create the customer's user (username = customer id, e-mail attribute, no invitation message) unless it
        exists; `admin` True adds it to `admins`, False removes it, None leaves the membership alone. True if created."""
        import botocore.exceptions

        check_customer_id(customer_id)
        email = email or f"{customer_id}@customers.orderflow.invalid"
        created = True
        try:
            self.cognito.admin_create_user(
                UserPoolId=self.pool_id,
                Username=customer_id,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            )
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise _fail(self.env, exc, f"creating customer '{customer_id}'") from None
            created = False
        except botocore.exceptions.BotoCoreError as exc:
            raise _fail(self.env, exc, f"creating customer '{customer_id}'") from None
        try:
            if admin is True:
                self.cognito.admin_add_user_to_group(
                    UserPoolId=self.pool_id, Username=customer_id, GroupName=ADMIN_GROUP
                )
            elif admin is False:
                self.cognito.admin_remove_user_from_group(
                    UserPoolId=self.pool_id, Username=customer_id, GroupName=ADMIN_GROUP
                )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _fail(self.env, exc, f"changing the {ADMIN_GROUP} membership of '{customer_id}'") from None
        return created

    def sign_in(self, customer_id: str) -> str:
        """Set a fresh random password (permanent) and sign in with it (USER_PASSWORD_AUTH, as a client would); the
        ID token."""
        import botocore.exceptions

        password = new_password()
        try:
            self.cognito.admin_set_user_password(
                UserPoolId=self.pool_id, Username=customer_id, Password=password, Permanent=True
            )
            result = self.cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": customer_id, "PASSWORD": password},
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _fail(self.env, exc, f"signing in as '{customer_id}'") from None
        token = (result.get("AuthenticationResult") or {}).get("IdToken")
        if not token:
            raise UserError(
                f"Cognito answered the sign-in of '{customer_id}' with challenge {result.get('ChallengeName')!r} instead of tokens."
            )
        return token

    def token(self, customer_id: str, admin: bool = False) -> str:
        """An ID token of `customer_id` (created when missing); `admin` decides its `admins` membership."""
        self.ensure_customer(customer_id, admin=admin)
        return self.sign_in(customer_id)

    def delete_customer(self, customer_id: str) -> None:
        """Delete the user; best effort (a missing user is fine)."""
        try:
            self.cognito.admin_delete_user(UserPoolId=self.pool_id, Username=customer_id)
        except Exception:  # noqa: BLE001, S110 - best effort: a missing user is fine
            pass


def customer_token(env: str, customer_id: str, *, admin: bool = False) -> str:
    """An ID token of `customer_id`, created in the env's user pool when missing; `admin` decides its `admins`
    membership (True: a member, False: not). For tests."""
    return UserPool.of(env).token(customer_id, admin=admin)


def cli(env: str, email: str, customer_id: str | None = None, admin: bool = False) -> str:
    """`invoke customer`: the ID token on stdout, everything else on stderr."""
    check_env(env)
    if not email or not EMAIL_RE.fullmatch(email):
        raise UserError(f"'{email}' is not an e-mail address: pass --email name@example.com.")
    customer_id = check_customer_id(customer_id) if customer_id else default_customer_id(email)
    pool = UserPool.of(env)
    created = pool.ensure_customer(customer_id, email=email, admin=True if admin else None)
    token = pool.sign_in(customer_id)
    role = " (admins)" if admin else ""
    print(f"customer id: {customer_id}{role} ({'created' if created else 'existing user'}, env {env})", file=sys.stderr)
    print(token)
    return token
