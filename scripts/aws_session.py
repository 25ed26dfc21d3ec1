"""The AWS side of an env: its region, account and boto3 clients (the local cloud's endpoint for env local, the
default credential chain otherwise). Every boto3 client of the tasks and the e2e suite comes from `aws_client`."""

from __future__ import annotations

import re

from scripts import local_cloud
from scripts.common import ENVS_DIR, UserError, is_local

LOCAL_ACCOUNT_ID = "000000000000"
#: One retry policy for every boto3 client of the tasks and the e2e suite (all come from `aws_client`): standard mode
#: retries throttling (Cognito's TooManyRequestsException, Lambda's and Step Functions' throttles), 5xx and timeouts
#: with jittered exponential back-off, as AWS advises; 10 attempts ride out a burst that meets an account quota.
AWS_RETRIES = {"mode": "standard", "total_max_attempts": 10}
REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d")
#: What to do without credentials (account_id's error and preflight's credentials row).
CREDENTIALS_TODO = "configure them (aws configure, AWS_PROFILE or AWS_* variables) and retry"


def tfvars_value(env: str, key: str) -> str | None:
    match = re.search(rf'^\s*{key}\s*=\s*"([^"]*)"', (ENVS_DIR / f"{env}.tfvars").read_text(), re.MULTILINE)
    return match.group(1) if match else None


def region(env: str) -> str:
    """The env's region: `region` in terraform/envs/<env>.tfvars, the only place it is written. Terraform's provider
    reads it from there, the tasks write it into the S3 backend config (`stack.resolved_backend_config`) and every
    boto3 client (`aws_client`, bootstrap-state, preflight, the e2e suite) is built with it, so AWS_REGION and the
    CLI's profile region never choose it."""
    value = tfvars_value(env, "region")
    if not value or not REGION_PATTERN.fullmatch(value):
        raise UserError(
            f"terraform/envs/{env}.tfvars must set region to an AWS region name (found {value!r}): "
            'write e.g. region = "us-east-1".'
        )
    return value


def session(env: str):
    import boto3

    if is_local(env):
        return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=region(env))
    return boto3.session.Session(region_name=region(env))


def aws_client(env: str, service: str):
    """A boto3 client for the env, in its region, with the shared retry policy: the local cloud's endpoint for local,
    the default credential chain otherwise."""
    from botocore.config import Config

    kwargs = {"endpoint_url": local_cloud.endpoint()} if is_local(env) else {}
    return session(env).client(service, config=Config(retries=dict(AWS_RETRIES)), **kwargs)


def account_id(env: str) -> str:
    if is_local(env):
        return LOCAL_ACCOUNT_ID
    import botocore.exceptions

    try:
        return aws_client(env, "sts").get_caller_identity()["Account"]
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
        raise UserError(f"No AWS credentials found for env '{env}': {CREDENTIALS_TODO}.") from None
    except botocore.exceptions.ClientError as exc:
        raise UserError(
            f"AWS rejected the credentials for env '{env}' ({exc.response['Error']['Code']}): refresh them and retry."
        ) from None
