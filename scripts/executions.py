"""`invoke redrive-execution ARN --env E [--restart]`: run a failed workflow execution on from where it failed.

Step Functions `RedriveExecution` restarts a FAILED, TIMED_OUT or ABORTED Standard execution (closed less than 14
days ago) from its failed states, keeping the states that succeeded. Where the cloud has no RedriveExecution (the
local emulator), or the execution cannot be redriven, this says so; `--restart` then starts a new execution of the
same state machine with the same input instead: every task is idempotent and the saga's claims let only one
execution act for an order (docs/architecture.md), so a restart repeats no effect that already happened.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from scripts.common import UserError

REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")
#: Error codes of a cloud that does not implement the RedriveExecution action.
UNSUPPORTED = ("UnknownOperationException", "InvalidAction", "UnsupportedOperation", "NotImplemented")


def restart_name(name: str, attempt: int) -> str:
    """The name of the `attempt`-th restart of execution `name` (at most 80 characters, as Step Functions allows)."""
    suffix = f"-restart-{attempt}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[: 80 - len(suffix)] + suffix


def _restart(sfn: Any, execution: dict[str, Any]) -> str:
    for attempt in range(1, 100):
        try:
            return sfn.start_execution(
                stateMachineArn=execution["stateMachineArn"],
                name=restart_name(execution["name"], attempt),
                input=execution.get("input") or "{}",
            )["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            continue
    raise UserError(f"Execution {execution['name']} was restarted 99 times already: investigate it instead.")


def redrive(sfn: Any, execution_arn: str, restart: bool = False, reader: Any = None) -> dict[str, Any]:
    """Redrive (or, with `restart`, restart) the execution; returns {"action", "executionArn", "status"}. `reader`: the
    stack's scripts/history.ExecutionReader (an EXPRESS execution is described from its logs on AWS; Step Functions
    redrives Standard executions only, so an Express one can only be restarted)."""
    from scripts.history import as_reader

    try:
        execution = as_reader(reader or sfn).describe(execution_arn)
    except ClientError as err:
        if err.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            raise UserError(f"There is no execution {execution_arn}: copy its ARN from `invoke trace` or the console.")
        raise
    status = execution["status"]
    if status not in REDRIVABLE:
        raise UserError(
            f"Execution {execution['name']} is {status}: only a FAILED, TIMED_OUT or ABORTED one is redriven."
        )
    if restart:
        return {"action": "restarted", "executionArn": _restart(sfn, execution), "status": "RUNNING"}
    try:
        sfn.redrive_execution(executionArn=execution_arn)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code in UNSUPPORTED or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 501:
            raise UserError(
                "This cloud does not implement RedriveExecution: run it again with --restart to start a new execution"
                " with the same input."
            ) from None
        if code == "ExecutionNotRedrivable":
            raise UserError(
                f"Step Functions will not redrive {execution['name']} ({err.response['Error'].get('Message')}): use"
                " --restart to start a new execution with the same input."
            ) from None
        raise
    return {"action": "redriven", "executionArn": execution_arn, "status": "RUNNING"}


def run(env: str, execution_arn: str, restart: bool = False, as_json: bool = False) -> dict[str, Any]:
    from scripts.aws_session import aws_client
    from scripts.common import read_outputs
    from scripts.history import ExecutionReader

    if not execution_arn.startswith("arn:"):
        raise UserError("Give the execution's ARN: invoke redrive-execution arn:aws:states:...:execution:<sm>:<name>.")
    reader = ExecutionReader.for_stack(read_outputs(env), lambda service: aws_client(env, service), env=env)
    result = redrive(reader.sfn, execution_arn, restart, reader)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['action']}: {result['executionArn']}")
    return result
