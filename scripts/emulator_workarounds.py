"""Render-time workarounds for gaps of the local cloud emulator (MiniStack).

Every value that differs between the local emulator and AWS lives here (the Terraform side has the
`emulator_compat` variable, set only in `terraform/envs/local.tfvars`). Each workaround names the MiniStack
version it was measured on and is guarded by a test in `tests/emulator/` that fails once the gap is fixed,
so the workaround can be removed instead of lingering.

Pure module: no I/O, no AWS calls.
"""

from __future__ import annotations

import json

#: The MiniStack release the workarounds below were measured on.
MINISTACK_VERSION = "1.5.33"

#: Environments that run on the emulator instead of AWS.
EMULATED_ENVS = frozenset({"local"})

#: Error names the services raise for technical faults worth retrying: every subclass of
#: `shared.errors.RetryableError` (its RETRYABLE_ERROR_NAMES; tests/unit/test_retryable_contract.py keeps the two
#: equal). On AWS a Lambda handler exception reaches Step Functions with the exception's class name as the error
#: name, and Retry matches the concrete name, not a base class.
SERVICE_RETRYABLE_ERRORS: tuple[str, ...] = (
    "CircuitOpenError",
    "EventPublishError",
    "InventoryContention",
    "NotificationConflict",
    "PaymentGatewayUnavailable",
    "RetryableError",
    "TransientAwsError",
)

#: MiniStack 1.5.33 reports *every* Lambda handler exception to Step Functions as `Runtime.HandlerError`
#: instead of the exception's class name (its Lambda runtime does not forward `errorType`), so on the
#: emulator the service errors above can only be matched by that generic name. Business outcomes never
#: travel as exceptions (they are Choice-routed values), so retrying every handler error locally only
#: retries technical faults -- and bugs, which then fail after the retries as they would anyway.
#: Guarded by tests/emulator/test_workflow_gaps.py::test_handler_errors_still_arrive_as_runtime_handler_error.
MINISTACK_HANDLER_ERROR = "Runtime.HandlerError"


#: MiniStack 1.5.33 answers DeleteStateMachine of a machine that is already gone with StateMachineDoesNotExist;
#: on AWS the call is idempotent (its documented errors are InvalidArn and ValidationException only). When the
#: provider's SDK retries a delete the loaded emulator was slow to answer, `terraform destroy` fails on a machine
#: it has just deleted (seen once in CI, 2026-12-02). A second destroy refreshes first, drops what is gone and
#: completes, so on the emulator destroy runs up to this many times.
#: Guarded by tests/emulator/test_workflow_gaps.py::test_delete_state_machine_is_still_not_idempotent.
EMULATED_DESTROY_ATTEMPTS = 2


#: MiniStack 1.5.33's EventBridge Scheduler puts its own event (source aws.scheduler, detail-type "Scheduled Event")
#: instead of the target's EventBridgeParameters (Terraform's emulator_compat adds a rule that rewrites it into the
#: sweep contract), so on the emulator the bus may carry this event, which no contract describes.
#: Guarded by tests/emulator/test_terraform_gaps.py::test_scheduler_ignores_eventbridge_parameters.
MINISTACK_SCHEDULER_EVENT = ("aws.scheduler", "Scheduled Event")


#: MiniStack 1.5.33 runs EXPRESS state machines and serves ListExecutions, DescribeExecution and GetExecutionHistory
#: for their executions (AWS serves none of these for Express), but writes no execution logs to the machine's log
#: group, even with level ALL and execution data (where AWS puts an Express execution's states). So on the emulator
#: scripts/history.ExecutionReader reads Express executions through the history API, as Standard ones.
#: Guarded by tests/emulator/test_workflow_gaps.py::test_express_executions_still_write_no_logs_but_have_a_history.
EXPRESS_HISTORY_FROM_API = True


def express_history_from_api(env: str) -> bool:
    """True where Express executions are read through the history API (the emulator), False where from their
    execution logs (AWS)."""
    return EXPRESS_HISTORY_FROM_API and is_emulated(env)


def uncontracted_events(env: str) -> frozenset[tuple[str, str]]:
    """(source, detail-type) of the events the bus of `env` may carry without a contract: none on AWS."""
    return frozenset({MINISTACK_SCHEDULER_EVENT}) if is_emulated(env) else frozenset()


def destroy_attempts(env: str) -> int:
    """How many `terraform destroy` runs `invoke destroy` may need for `env` (1 on AWS)."""
    return EMULATED_DESTROY_ATTEMPTS if is_emulated(env) else 1


def is_emulated(env: str) -> bool:
    """True when `env` is deployed to the local emulator rather than AWS."""
    return env in EMULATED_ENVS


def retryable_errors(env: str) -> list[str]:
    """The error names the workflows retry as technical faults of the services, for `env`."""
    errors = list(SERVICE_RETRYABLE_ERRORS)
    if is_emulated(env):
        errors.append(MINISTACK_HANDLER_ERROR)
    return errors


def describe(env: str) -> str:
    """One line for logs: which workarounds apply to `env`."""
    if not is_emulated(env):
        return f"{env}: AWS, no emulator workarounds"
    return (
        f"{env}: MiniStack {MINISTACK_VERSION} workarounds: retried service errors += {MINISTACK_HANDLER_ERROR} "
        f"-> {json.dumps(retryable_errors(env))}; destroy attempts {destroy_attempts(env)}"
    )
