"""scripts/auth.py (`invoke customer`): customer ids, passwords, and the Cognito calls against moto."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from scripts import auth
from scripts.common import UserError


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("alice@example.com", "alice"),
        ("Alice.Smith+orders@example.com", "alice-smith-orders"),
        ("_bob_@example.com", "bob_"),
        ("..x@example.com", "x"),
        ("o'brien@example.com", "o-brien"),
        ("a" * 80 + "@example.com", "a" * 64),
    ],
)
def test_default_customer_id(email, expected):
    assert auth.default_customer_id(email) == expected
    assert auth.CUSTOMER_ID_RE.fullmatch(expected)


@pytest.mark.parametrize("email", ["@example.com", "...@example.com", "éé@example.com"])
def test_default_customer_id_needs_something_usable(email):
    with pytest.raises(UserError, match="--customer-id"):
        auth.default_customer_id(email)


@pytest.mark.parametrize("bad", ["", "-x", "has space", "x" * 65, "a/b"])
def test_check_customer_id(bad):
    with pytest.raises(UserError, match="invalid"):
        auth.check_customer_id(bad)


def test_new_password_satisfies_the_pool_policy():
    for _ in range(50):
        password = auth.new_password()
        assert len(password) == 32
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password) and any(c in auth.PASSWORD_SYMBOLS for c in password)
    assert auth.new_password() != auth.new_password()


@pytest.fixture
def pool(_moto_session, monkeypatch):
    """A moto user pool + public app client + admins group, wired in as env 'dev''s outputs."""
    cognito = boto3.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName="orderflow-test-customers")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="orderflow-test-api",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(UserPoolId=pool_id, GroupName="admins")
    outputs = {"user_pool_id": pool_id, "user_pool_client_id": client_id}
    monkeypatch.setattr(auth, "read_outputs", lambda env: outputs)
    from scripts import aws_session

    monkeypatch.setattr(aws_session, "aws_client", lambda env, service: boto3.client(service))
    yield cognito, pool_id, client_id, outputs
    cognito.delete_user_pool(UserPoolId=pool_id)


def groups(cognito, pool_id, user):
    return [g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=user)["Groups"]]


def test_cli_creates_the_customer_and_prints_only_the_token(pool, capsys):
    cognito, pool_id, client_id, _ = pool

    token = auth.cli("dev", email="Alice.Smith@example.com")

    out, err = capsys.readouterr()
    assert out == token + "\n"  # stdout: the token and nothing else
    assert "alice-smith" in err and "created" in err
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="alice-smith")
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["email"] == "Alice.Smith@example.com" and user["UserStatus"] == "CONFIRMED"
    assert claims(token)["cognito:username"] == "alice-smith"
    assert claims(token)["token_use"] == "id" and claims(token)["aud"] == client_id
    assert groups(cognito, pool_id, "alice-smith") == []


def test_cli_reuses_the_customer_with_a_fresh_password_and_admin(pool, capsys):
    cognito, pool_id, _, _ = pool
    auth.cli("dev", email="ops@example.com", customer_id="ops-1")
    capsys.readouterr()

    token = auth.cli("dev", email="ops@example.com", customer_id="ops-1", admin=True)

    assert "existing user" in capsys.readouterr().err
    assert groups(cognito, pool_id, "ops-1") == ["admins"]
    assert claims(token)["cognito:username"] == "ops-1"
    # without --admin the membership stays as it is
    auth.cli("dev", email="ops@example.com", customer_id="ops-1")
    assert groups(cognito, pool_id, "ops-1") == ["admins"]


def test_customer_token_sets_the_membership_both_ways(pool):
    cognito, pool_id, _, _ = pool
    auth.customer_token("dev", "carol", admin=True)
    assert groups(cognito, pool_id, "carol") == ["admins"]
    token = auth.customer_token("dev", "carol")
    assert groups(cognito, pool_id, "carol") == []
    assert claims(token)["cognito:username"] == "carol"
    auth.UserPool.of("dev").delete_customer("carol")
    auth.UserPool.of("dev").delete_customer("carol")  # already gone: fine
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=pool_id, Username="carol")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "not-an-email"}, "not an e-mail address"),
        ({"email": ""}, "not an e-mail address"),
        ({"email": "a@example.com", "customer_id": "bad id"}, "invalid"),
    ],
)
def test_cli_refuses_bad_input(pool, kwargs, message):
    with pytest.raises(UserError, match=message):
        auth.cli("dev", **kwargs)


def test_unknown_env_and_stack_without_a_pool(pool, monkeypatch):
    with pytest.raises(UserError, match="Unknown environment"):
        auth.cli("nope", email="a@example.com")
    monkeypatch.setattr(auth, "read_outputs", lambda env: {"api_url": "x"})
    with pytest.raises(UserError, match="no user pool"):
        auth.customer_token("dev", "alice")


def test_deleted_pool_is_one_sentence(pool, monkeypatch):
    _, _, _, outputs = pool
    monkeypatch.setattr(auth, "read_outputs", lambda env: {**outputs, "user_pool_id": "us-east-1_doesnotexist"})
    with pytest.raises(UserError, match="does not exist"):
        auth.customer_token("dev", "alice")


def test_not_deployed_is_one_sentence(monkeypatch):
    from scripts import common

    monkeypatch.setattr(common, "env_build_dir", lambda env: common.BUILD_DIR / "no-such-env-for-the-test")
    monkeypatch.setattr(auth, "read_outputs", common.read_outputs)
    with pytest.raises(UserError, match="deploy first"):
        auth.customer_token("dev", "alice")
