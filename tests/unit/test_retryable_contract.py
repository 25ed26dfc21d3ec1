"""The workflows retry exactly the technical-fault errors the services raise."""

from scripts.emulator_workarounds import SERVICE_RETRYABLE_ERRORS, retryable_errors
from shared.errors import RETRYABLE_ERROR_NAMES


def test_workflow_retry_list_matches_the_services_retryable_errors():
    assert sorted(SERVICE_RETRYABLE_ERRORS) == sorted(RETRYABLE_ERROR_NAMES)


def test_aws_envs_do_not_retry_the_emulator_generic_error():
    assert "Runtime.HandlerError" not in retryable_errors("dev")
    assert "Runtime.HandlerError" in retryable_errors("local")
