"""One region per env (scripts/aws_session.py): terraform/envs/<env>.tfvars says it; the backend config, bootstrap-state and
every boto3 client read it from there; a backend file naming another region fails before anything is created.
Offline: temporary env files, moto for bootstrap-state."""

from __future__ import annotations

import re

import boto3
import pytest
from moto import mock_aws

from scripts import aws_session, common, preflight, stack
from scripts.common import UserError

BACKEND = """bucket         = "orderflow-dev-tfstate-<ACCOUNT_ID>"
key            = "orderflow/dev/terraform.tfstate"
dynamodb_table = "orderflow-dev-tflock"
encrypt        = true
"""


@pytest.fixture
def envs(tmp_path, monkeypatch):
    """terraform/envs in a temporary folder: write(env, tfvars, backend) lays out an env."""
    for module in (common, aws_session, stack, preflight):
        monkeypatch.setattr(module, "ENVS_DIR", tmp_path)
    monkeypatch.setattr(stack, "env_build_dir", lambda env: tmp_path / "build" / env)

    def write(env: str, region: str | None, backend: str | None = BACKEND) -> None:
        (tmp_path / f"{env}.tfvars").write_text(f'env = "{env}"\n' + (f'region  = "{region}"\n' if region else ""))
        if backend is not None:
            (tmp_path / f"{env}.backend.hcl").write_text(backend)

    return write


def test_the_repository_envs_name_their_regions():
    assert aws_session.region("dev") == "us-east-1"
    assert aws_session.region("prod") == "eu-west-1"
    assert aws_session.region("local") == "us-east-1"
    for env in ("dev", "prod"):  # the backend files name no region: the tasks add the tfvars one
        assert stack.backend_settings(env)["region"] == aws_session.region(env)
        assert not re.search(r"^\s*region\s*=", (common.ENVS_DIR / f"{env}.backend.hcl").read_text(), re.MULTILINE)


def test_a_missing_or_malformed_region_fails_with_one_sentence(envs):
    envs("dev", None)
    with pytest.raises(UserError) as missing:
        aws_session.region("dev")
    assert str(missing.value) == (
        'terraform/envs/dev.tfvars must set region to an AWS region name (found None): write e.g. region = "us-east-1".'
    )
    envs("dev", "Europe")
    with pytest.raises(UserError, match=r"\(found 'Europe'\)"):
        aws_session.region("dev")


def test_the_backend_config_gets_the_tfvars_region(envs, monkeypatch):
    envs("dev", "ap-southeast-2")
    monkeypatch.setattr(aws_session, "account_id", lambda env: "111122223333")
    text = stack.resolved_backend_config("dev").read_text()
    assert 'bucket         = "orderflow-dev-tfstate-111122223333"' in text
    assert text.endswith('# added by the tasks from terraform/envs/dev.tfvars\nregion = "ap-southeast-2"\n')
    assert stack.backend_settings("dev") == {
        "bucket": "orderflow-dev-tfstate-<ACCOUNT_ID>",
        "key": "orderflow/dev/terraform.tfstate",
        "dynamodb_table": "orderflow-dev-tflock",
        "region": "ap-southeast-2",
    }


def test_a_backend_region_that_agrees_is_kept(envs, monkeypatch):
    envs("dev", "eu-central-1", BACKEND + 'region         = "eu-central-1"\n')
    monkeypatch.setattr(aws_session, "account_id", lambda env: "111122223333")
    text = stack.resolved_backend_config("dev").read_text()
    assert text.count("region") == 1 and 'region         = "eu-central-1"' in text


def test_a_backend_region_that_disagrees_fails_before_anything_is_created(envs, monkeypatch):
    envs("dev", "us-east-1", BACKEND + 'region         = "eu-west-1"\n')

    def no_client(*args, **kwargs):
        raise AssertionError("no AWS client may be built on a region mismatch")

    monkeypatch.setattr(aws_session, "aws_client", no_client)
    monkeypatch.setattr(aws_session, "account_id", no_client)
    with pytest.raises(UserError) as exc:
        stack.bootstrap_state("dev")
    assert str(exc.value) == (
        "terraform/envs/dev.backend.hcl sets region eu-west-1 but terraform/envs/dev.tfvars sets "
        "us-east-1: delete the backend file's region line (the tasks add the tfvars region)."
    )
    with pytest.raises(UserError, match="sets region eu-west-1 but"):
        stack.preflight("dev")


def test_a_missing_backend_file_fails_with_one_sentence(envs):
    envs("dev", "us-east-1", backend=None)
    with pytest.raises(UserError) as exc:
        stack.backend_settings("dev")
    assert str(exc.value) == (
        "terraform/envs/dev.backend.hcl is missing: write the S3 backend settings for 'dev' (see docs/terraform.md)."
    )


@mock_aws
def test_bootstrap_state_creates_bucket_and_lock_table_in_the_tfvars_region(envs, monkeypatch, capsys):
    envs("dev", "eu-north-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # ignored: the env's region wins
    monkeypatch.setattr(aws_session, "account_id", lambda env: "111122223333")
    stack.bootstrap_state("dev")
    s3 = boto3.client("s3", region_name="eu-north-1")
    assert s3.get_bucket_location(Bucket="orderflow-dev-tfstate-111122223333")["LocationConstraint"] == "eu-north-1"
    assert s3.get_bucket_versioning(Bucket="orderflow-dev-tfstate-111122223333")["Status"] == "Enabled"
    table = boto3.client("dynamodb", region_name="eu-north-1").describe_table(TableName="orderflow-dev-tflock")["Table"]
    assert table["TableArn"] == "arn:aws:dynamodb:eu-north-1:123456789012:table/orderflow-dev-tflock"
    assert boto3.client("dynamodb", region_name="us-west-2").list_tables()["TableNames"] == []
    assert capsys.readouterr().out.splitlines()[-1] == "State backend for 'dev' ready: now `invoke deploy --env dev`."


def test_every_client_uses_the_env_region_and_standard_retries(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    for env, region in (("dev", "us-east-1"), ("prod", "eu-west-1"), ("local", "us-east-1")):
        client = aws_session.aws_client(env, "cognito-idp")
        assert client.meta.region_name == region
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 10}
    assert aws_session.AWS_RETRIES == {"mode": "standard", "total_max_attempts": 10}
