"""Render the Step Functions workflow templates (`workflow/<name>.asl.json`) for one environment.

Templates reference every resource through `${Placeholder}` (docs/architecture.md, "Rendered workflows").
All values are derived from names, so rendering needs no prior `terraform apply` and makes no AWS call:

    ${PaymentFunctionArn}       arn:aws:lambda:<region>:<account>:function:<project>-<env>-payment
    ${InventoryFunctionArn}     ... -inventory
    ${NotificationFunctionArn}  ... -notification
    ${OrderFunctionArn}         ... -order
    ${LambdaRetry}              the Retry list of every Lambda task (workflow_policies.lambda_retry)
    ${TableRetry}               the Retry list of every DynamoDB integration task (workflow_policies.table_retry)
    ${TransactionRetry}, ${EventsRetry}  the Retry lists of CompleteOrder's transaction and PublishCompleted's put
                                (workflow_policies.transaction_retry, events_retry)
    ${OutboxTableName}          <project>-<env>-outbox, the Settle task's table (terraform/modules/data's naming)
    ${OutboxKeyName}, ${OutboxKeyType}  the outbox table's hash key and its attribute type (tables.json): id, S
    ${OrdersTableName}          <project>-<env>-orders, the OwnOrder task's table
    ${OrdersHashKeyName}, ${OrdersHashKeyType}, ${OrdersRangeKeyName}, ${OrdersRangeKeyType}  the orders table's key
                                (tables.json): orderId S, customerId S
    ${EventBusName}             <project>-<env>-bus, the stack's event bus (terraform/modules/event_bus's naming): the
                                only EventBusName an events:putEvents task may name
    ${OwnOrderUpdateExpression}, ${OwnOrderConditionExpression}, ${OwnOrderExecutionValue}  OwnOrder's write, from its
                                one owner shared.repositories.orders (OWN_*): set executionId once, then only that
                                execution passes
    ${CompletedEventIdPath}     where OwnOrder's ALL_NEW answer holds the order's completedEventId
    ${CompleteOrderTransactItems}, ${CompletedClaim}, ${OrderCompletedDetail}  CompleteOrder's TransactItems, the claim
                                it makes and the "Order Completed" detail, from shared.repositories.orders'
                                completion_write / completed_event with a path for each argument (completion_values)
    ${FinalizeDutyIdFormat}     the outbox id of an order's finalize duty as a States.Format template, from its one
                                owner shared.outbox.finalize_id: "{}#finalize"
    ${PaymentParkingBudgetSeconds}  how long an order waits for the payment gateway before it fails (by the order
                                workflow's type: workflow_policies.payment_parking_budget_seconds)
    ${FinalizeBranch}           the branch of workflow/fragments/finalize.asl.json, itself rendered: the one
                                definition of "compensate, notify, settle" that every claiming workflow runs
    ${<Event>DetailType}        the detail-type of the event contract <Event> (services/shared/schemas/events/
                                <Event>.json), e.g. ${RefundRequestedDetailType} -> Refund Requested
    ${<Event>Source}            the source of the event contract <Event>, e.g. ${OrderCompletedSource} -> order.service

Substitution rules:
- a JSON string that is exactly `"${Name}"` is replaced by the JSON encoding of the value, so a list or object
  value (`LambdaRetry`, `FinalizeBranch`) or a number is inserted as such while the template stays valid JSON;
- `${Name}` inside a longer string, or outside any string, is replaced by the value's text
  (strings JSON-escaped, other values JSON-encoded).
Rendering fails with `UnresolvedPlaceholderError` naming every placeholder without a value (and any malformed
`${...}`), with `InvalidDefinitionError` (file:line:column) on invalid JSON or, when `validate` is on, on
a definition statelint rejects, and with `UndeclaredIntegrationError` when what a definition invokes (functions), does
to a table (DynamoDB integrations, transactWriteItems items included) or puts on the bus (events:putEvents entries, as
event contracts) differs from `workflow/integrations.json` (the declaration Terraform grants each state machine's role
from).

Usage: `python -m scripts.render --env local --region us-east-1 --account-id 000000000000`
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from scripts import emulator_workarounds, tables, workflow_policies
from scripts.common import REPO_ROOT, env_build_dir, event_contracts, services_module
from scripts.common import UserError as _UserError

TEMPLATE_DIR = REPO_ROOT / "workflow"
TEMPLATE_SUFFIX = ".asl.json"

#: The workflows of the contract, in flow order.
WORKFLOWS: tuple[str, ...] = ("order-processing", "payment-processing", "inventory-management")

#: service name -> placeholder holding its Lambda ARN
FUNCTION_PLACEHOLDERS: dict[str, str] = {
    "payment": "PaymentFunctionArn",
    "inventory": "InventoryFunctionArn",
    "notification": "NotificationFunctionArn",
    "order": "OrderFunctionArn",
}

#: Every placeholder of the contract (all required).
PLACEHOLDERS: tuple[str, ...] = (
    *FUNCTION_PLACEHOLDERS.values(),
    "LambdaRetry",
    "TableRetry",
    "TransactionRetry",
    "EventsRetry",
    "PaymentParkingBudgetSeconds",
    "OutboxTableName",
    "OutboxKeyName",
    "OutboxKeyType",
    "OrdersTableName",
    "OrdersHashKeyName",
    "OrdersHashKeyType",
    "OrdersRangeKeyName",
    "OrdersRangeKeyType",
    "EventBusName",
    "OwnOrderUpdateExpression",
    "OwnOrderConditionExpression",
    "OwnOrderExecutionValue",
    "FinalizeDutyIdFormat",
    "FinalizeBranch",
    "CompletedEventIdPath",
    "CompleteOrderTransactItems",
    "CompletedClaim",
    "OrderCompletedDetail",
)
FRAGMENT_DIR = TEMPLATE_DIR / "fragments"
#: What each workflow invokes: read here (every rendered definition must invoke exactly that) and by terraform/main.tf
#: (each state machine's role may invoke exactly that).
INTEGRATIONS_PATH = TEMPLATE_DIR / "integrations.json"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
#: The optimized DynamoDB integrations a workflow may use (those MiniStack 1.5.33 serves too), by task Resource ->
#: the IAM action a role needs for it; integrations.json declares them per table as these IAM action names.
TABLE_INTEGRATIONS: dict[str, str] = {
    "arn:aws:states:::dynamodb:getItem": "GetItem",
    "arn:aws:states:::dynamodb:putItem": "PutItem",
    "arn:aws:states:::dynamodb:updateItem": "UpdateItem",
    "arn:aws:states:::dynamodb:deleteItem": "DeleteItem",
}
#: The SDK integration of a DynamoDB transaction: IAM authorises each of its TransactItems by the item's action on the
#: item's table (there is no TransactWriteItems action), so each item counts as that (table, IAM action) pair.
TRANSACT_WRITE_ITEMS = "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"
TRANSACT_ITEM_ACTIONS: dict[str, str] = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
#: Every IAM action a workflow may declare on a table (integrations.json `tables`).
TABLE_ACTIONS: tuple[str, ...] = tuple(dict.fromkeys([*TABLE_INTEGRATIONS.values(), *TRANSACT_ITEM_ACTIONS.values()]))
#: The optimized EventBridge integration: each entry is authorised by events:source and events:detail-type, so each
#: must name its Source and DetailType literally (an event contract) and the stack's bus; integrations.json declares
#: the contract names under `events`.
PUT_EVENTS = "arn:aws:states:::events:putEvents"
_FUNCTION_ARN = re.compile(r"^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+)(:[A-Za-z0-9$_-]+)?$")

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class RenderError(_UserError):
    """Base class of rendering failures."""


class UnresolvedPlaceholderError(RenderError):
    """A template uses placeholders without a value (or malformed ones)."""

    def __init__(self, source: str, placeholders: list[str]) -> None:
        self.source = source
        self.placeholders = sorted(set(placeholders))
        names = ", ".join("${" + p + "}" for p in self.placeholders)
        super().__init__(f"{source}: unresolved placeholder(s): {names}")


class InvalidDefinitionError(RenderError):
    """A template or rendered definition is not valid JSON / not a valid state machine."""

    def __init__(
        self,
        source: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        problems: list[str] | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.problems = list(problems or [])
        where = source if line is None else f"{source}:{line}:{column}"
        super().__init__(f"{where}: {message}")


class UndeclaredIntegrationError(RenderError):
    """A definition invokes something workflow/integrations.json does not declare for it, or the reverse."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


def function_arn(service: str, env: str, *, region: str, account_id: str, project: str = "orderflow") -> str:
    """ARN of the service's Lambda function, derived from the naming convention `<project>-<env>-<service>`."""
    return f"arn:aws:lambda:{region}:{account_id}:function:{project}-{env}-{service}"


def table_name(table: str, env: str, project: str = "orderflow") -> str:
    """A table's name, `<project>-<env>-<table>` (terraform/modules/data names them so)."""
    return f"{project}-{env}-{table}"


def bus_name(env: str, project: str = "orderflow") -> str:
    """The event bus's name, `<project>-<env>-bus` (terraform/modules/event_bus names it so)."""
    return f"{project}-{env}-bus"


def _format_literal(text: str) -> str:
    """`text` as literal characters of a States.Format template (its special characters escaped)."""
    return "".join("\\" + ch if ch in "'{}\\" else ch for ch in text)


def finalize_duty_id_format() -> str:
    """shared.outbox.finalize_id as a States.Format template with one `{}` for the orderId: the key format is written
    once, in the outbox module, and rendered from it."""
    marker = "\0"
    parts = services_module("shared.outbox").finalize_id(marker).split(marker)
    if len(parts) != 2:
        raise RenderError("shared.outbox.finalize_id must contain the orderId exactly once")
    return "{}".join(_format_literal(part) for part in parts)


def own_order_values(env: str, project: str) -> dict[str, str]:
    """The OwnOrder task's table, key and write: the table and key from tables.json, the expressions from their one
    owner, shared.repositories.orders (CompleteOrder's condition reads the same OWNER_ATTRIBUTE)."""
    orders_table = tables.definitions()["orders"]
    hash_key, range_key = orders_table["hash_key"], orders_table["range_key"]
    owner = services_module("shared.repositories.orders")
    return {
        "OrdersTableName": table_name("orders", env, project),
        "OrdersHashKeyName": hash_key,
        "OrdersHashKeyType": orders_table["attributes"][hash_key],
        "OrdersRangeKeyName": range_key,
        "OrdersRangeKeyType": orders_table["attributes"][range_key],
        "OwnOrderUpdateExpression": owner.OWN_UPDATE_EXPRESSION,
        "OwnOrderConditionExpression": owner.OWN_CONDITION_EXPRESSION,
        "OwnOrderExecutionValue": owner.OWN_EXECUTION_VALUE,
    }


#: What order-processing's CompleteOrder task reads from its state (after UseEventOrder) and from the context object,
#: each in place of one argument of shared.repositories.orders.completion_write, the definition rendered into it.
COMPLETION_PATHS: dict[str, str] = {
    "order_id": "$.order.orderId",
    "customer_id": "$.order.customerId",
    "execution": "$$.Execution.Id",
    "total_amount": "$.order.totalAmount",
    "event_id": "$.completedEventId",
    "at": "$$.State.EnteredTime",
}
_SENTINEL = re.compile(r"@@([a-z_]+)@@")


def _sentinel(argument: str) -> str:
    return f"@@{argument}@@"


def _with_paths(value: Any, paths: Mapping[str, str], where: str = "$") -> Any:
    """`value` built from sentinel arguments (`@@name@@`), as Step Functions Parameters: a field whose string is one
    sentinel becomes `<field>.$` with its path, a string with sentinels inside becomes a States.Format of them."""
    if isinstance(value, list):
        if any(isinstance(v, str) and _SENTINEL.search(v) for v in value):
            raise RenderError(f"{where}: a list item cannot be a path (Step Functions resolves only `<field>.$`)")
        return [_with_paths(v, paths, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        found = _SENTINEL.findall(item) if isinstance(item, str) else []
        if not found:
            out[key] = _with_paths(item, paths, f"{where}.{key}")
        elif item == _sentinel(found[0]):
            out[f"{key}.$"] = paths[found[0]]
        else:
            template = "{}".join(_format_literal(part) for part in _SENTINEL.split(item)[::2])
            out[f"{key}.$"] = f"States.Format('{template}', {', '.join(paths[name] for name in found)})"
    return out


def completion_values(env: str, project: str) -> dict[str, Any]:
    """order-processing's completion without a Lambda: the TransactWriteItems of CompleteOrder, the claim it makes,
    the "Order Completed" detail PublishCompleted puts, all from shared.repositories.orders (their one owner)."""
    orders = services_module("shared.repositories.orders")
    lifecycle = services_module("shared.lifecycle")
    arguments = {name: _sentinel(name) for name in COMPLETION_PATHS}
    update, entries = orders.completion_write(**arguments)
    items = orders.transaction_items(
        update,
        entries,
        orders_table=table_name("orders", env, project),
        outbox_table=table_name("outbox", env, project),
    )
    claim = lifecycle.claim_of(
        {"status": lifecycle.OrderStatus.COMPLETED, "statusHistory": [{"reason": orders.COMPLETED_REASON}]}
    )
    claim.pop("by")  # the finalize fragment reads status, notification and reason
    detail = orders.completed_event(*(arguments[n] for n in ("order_id", "customer_id", "total_amount", "event_id")))
    return {
        "CompletedEventIdPath": f"$.Attributes.{orders.COMPLETED_EVENT_ID_ATTRIBUTE}.S",
        "CompleteOrderTransactItems": _with_paths(items, COMPLETION_PATHS),
        "CompletedClaim": claim,
        "OrderCompletedDetail": _with_paths(detail, COMPLETION_PATHS),
    }


def placeholder_values(
    env: str, *, region: str, account_id: str, project: str = "orderflow", order_workflow_type: str = "STANDARD"
) -> dict[str, Any]:
    """The value of every placeholder of the contract for `env` (the order workflow deployed as `order_workflow_type`)."""
    if not env or not region or not account_id:
        raise ValueError("env, region and account_id are all required")
    values: dict[str, Any] = {
        placeholder: function_arn(service, env, region=region, account_id=account_id, project=project)
        for service, placeholder in FUNCTION_PLACEHOLDERS.items()
    }
    values["LambdaRetry"] = workflow_policies.lambda_retry(emulator_workarounds.retryable_errors(env))
    values["TableRetry"] = workflow_policies.table_retry()
    values["TransactionRetry"] = workflow_policies.transaction_retry()
    values["EventsRetry"] = workflow_policies.events_retry()
    values["OutboxTableName"] = table_name("outbox", env, project)
    values["OutboxKeyName"] = tables.definitions()["outbox"]["hash_key"]
    values["OutboxKeyType"] = tables.definitions()["outbox"]["attributes"][values["OutboxKeyName"]]
    values.update(own_order_values(env, project))
    values.update(completion_values(env, project))
    values["EventBusName"] = bus_name(env, project)
    values["FinalizeDutyIdFormat"] = finalize_duty_id_format()
    values["PaymentParkingBudgetSeconds"] = workflow_policies.payment_parking_budget_seconds(order_workflow_type)
    values.update({f"{name}DetailType": c.detail_type for name, c in event_contracts().EVENTS.items()})
    values.update({f"{name}Source": c.source for name, c in event_contracts().EVENTS.items()})
    fragment = FRAGMENT_DIR / f"finalize{TEMPLATE_SUFFIX}"
    values["FinalizeBranch"] = render_definition(fragment.read_text(encoding="utf-8"), values, source=str(fragment))
    missing = set(PLACEHOLDERS) - set(values)
    assert not missing, f"no value derived for {sorted(missing)}"
    return values


def template_placeholders(text: str) -> set[str]:
    """The placeholder names a template text uses."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(text)}


def render_text(text: str, values: Mapping[str, Any], *, source: str = "<template>") -> str:
    """Substitute the placeholders of a template text; returns the rendered JSON text (not re-formatted)."""
    unresolved = [name for name in template_placeholders(text) if not _VALID_NAME.match(name) or name not in values]
    if unresolved:
        raise UnresolvedPlaceholderError(source, unresolved)

    def whole_string(match: re.Match[str]) -> str:
        return json.dumps(values[match.group(1)])

    def embedded(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return json.dumps(value)[1:-1] if isinstance(value, str) else json.dumps(value)

    text = re.sub(r'(?<!\\)"\$\{([A-Za-z][A-Za-z0-9_]*)\}"', whole_string, text)
    text = _PLACEHOLDER.sub(embedded, text)
    left = template_placeholders(text)  # a value that itself contains ${...}
    if left:
        raise UnresolvedPlaceholderError(source, sorted(left))
    return text


def _load_json(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidDefinitionError(source, f"invalid JSON: {err.msg}", err.lineno, err.colno) from None
    if not isinstance(data, dict):
        raise InvalidDefinitionError(source, "a state machine definition must be a JSON object")
    return data


def render_definition(text: str, values: Mapping[str, Any], *, source: str = "<template>") -> dict[str, Any]:
    """Render one template text into a definition (dict). Pure function."""
    return _load_json(render_text(text, values, source=source), source)


def validate_definition(path_or_definition: Path | str | Mapping[str, Any]) -> list[str]:
    """Validate a state machine definition with statelint; returns the problems (empty list: valid).

    statelint 3.1.0 (PyPI `statelint`, the maintained Python port) knows the newer ASL fields used here
    (ResultSelector, JitterStrategy, MaxDelaySeconds, ItemSelector/ItemProcessor, Credentials,
    ErrorPath/CausePath, intrinsic functions), so no workaround is needed. Our templates use only
    JSONPath (no JSONata).
    """
    try:
        from statelint.linter import Linter
    except ImportError as err:  # pragma: no cover - depends on the dev environment
        raise RuntimeError("statelint is not installed: pip install 'statelint==3.1.0'") from err
    if isinstance(path_or_definition, Mapping):
        definition = dict(path_or_definition)
    else:
        path = Path(path_or_definition)
        definition = _load_json(path.read_text(encoding="utf-8"), str(path))
    return list(Linter.validate(definition))


def template_paths(template_dir: Path | None = None) -> dict[str, Path]:
    """Workflow name -> template path, for every `*.asl.json` under the template directory."""
    directory = Path(template_dir) if template_dir else TEMPLATE_DIR
    paths = {p.name[: -len(TEMPLATE_SUFFIX)]: p for p in sorted(directory.glob(f"*{TEMPLATE_SUFFIX}"))}
    if not paths:
        raise RenderError(f"no *{TEMPLATE_SUFFIX} templates under {directory}")
    return paths


def declared_integrations(path: Path | None = None) -> dict[str, frozenset[str]]:
    """Workflow -> the services whose function it declares it invokes (`workflow/integrations.json`)."""
    path = Path(path) if path else INTEGRATIONS_PATH
    workflows = json.loads(path.read_text(encoding="utf-8"))["workflows"]
    declared: dict[str, frozenset[str]] = {}
    for workflow, integration in workflows.items():
        unknown = sorted(set(integration["invokes"]) - set(FUNCTION_PLACEHOLDERS))
        if unknown:
            problem = (
                f"{path} declares that {workflow} invokes {', '.join(unknown)}, which is not a service with a "
                f"function (known: {', '.join(sorted(FUNCTION_PLACEHOLDERS))})."
            )
            raise UndeclaredIntegrationError(str(path), [problem])
        declared[workflow] = frozenset(integration["invokes"])
    return declared


def declared_table_actions(path: Path | None = None) -> dict[str, frozenset[tuple[str, str]]]:
    """Workflow -> the (table, IAM action) pairs it declares its DynamoDB integration tasks do (`tables` of
    `workflow/integrations.json`, e.g. {"outbox": ["DeleteItem"]}); a workflow without `tables` does none."""
    path = Path(path) if path else INTEGRATIONS_PATH
    workflows = json.loads(path.read_text(encoding="utf-8"))["workflows"]
    declared: dict[str, frozenset[tuple[str, str]]] = {}
    problems: list[str] = []
    for workflow, integration in workflows.items():
        pairs = {(table, action) for table, actions in integration.get("tables", {}).items() for action in actions}
        for table, action in sorted(pairs):
            if table not in tables.definitions():
                problems.append(
                    f"{path} declares that {workflow} uses table {table}, which is not a table of the contract."
                )
            if action not in TABLE_ACTIONS:
                problems.append(
                    f"{path} declares that {workflow} does {action} on {table}, which is no DynamoDB integration a "
                    f"workflow may use (known: {', '.join(TABLE_ACTIONS)})."
                )
        declared[workflow] = frozenset(pairs)
    if problems:
        raise UndeclaredIntegrationError(str(path), problems)
    return declared


def declared_events(path: Path | None = None) -> dict[str, frozenset[str]]:
    """Workflow -> the event contracts (services/shared/schemas/events/<Name>.json) it declares its events:putEvents
    tasks put (`events` of `workflow/integrations.json`, e.g. ["OrderCompleted"]); a workflow without `events` puts
    none."""
    path = Path(path) if path else INTEGRATIONS_PATH
    workflows = json.loads(path.read_text(encoding="utf-8"))["workflows"]
    contracts = event_contracts().EVENTS
    declared: dict[str, frozenset[str]] = {}
    problems: list[str] = []
    for workflow, integration in workflows.items():
        names = integration.get("events", [])
        for name in sorted(set(names) - set(contracts)):
            problems.append(
                f"{path} declares that {workflow} puts {name}, which is not an event contract "
                f"(services/shared/schemas/events)."
            )
        declared[workflow] = frozenset(names)
    if problems:
        raise UndeclaredIntegrationError(str(path), problems)
    return declared


class Integrations(NamedTuple):
    """What a definition integrates with (used_integrations)."""

    services: set[str]  #: the services whose function it invokes
    tables: set[tuple[str, str]]  #: the (table, IAM action) pairs of its DynamoDB tasks and transaction items
    events: set[str]  #: the event contracts its events:putEvents entries put


def _task_states(machine: Mapping[str, Any], scope: str = ""):
    """(qualified name, state) of every Task, inside Parallel branches and Map iterations too."""
    for name, state in machine.get("States", {}).items():
        if state.get("Type") == "Task":
            yield f"{scope}{name}", state
        for sub in [state.get("ItemProcessor") or state.get("Iterator"), *state.get("Branches", [])]:
            if isinstance(sub, Mapping):
                yield from _task_states(sub, f"{scope}{name}/")


def used_integrations(
    definition: Mapping[str, Any],
    function_services: Mapping[str, str],
    table_names: Mapping[str, str] | None = None,
    *,
    source: str = "<definition>",
    bus: str | None = None,
) -> Integrations:
    """What a definition integrates with: the services whose function it invokes (lambda:invoke's FunctionName,
    qualified or not, or a function ARN as task Resource; `function_services` maps each of the stack's function ARNs to
    its service), the (table, IAM action) pairs of its DynamoDB integration tasks and of the items of its
    transactWriteItems tasks (Put -> PutItem, Update -> UpdateItem, Delete -> DeleteItem, ConditionCheck ->
    ConditionCheckItem; `table_names` maps each of the stack's table names to its table), and the event contracts the
    entries of its events:putEvents tasks put (by their Source and DetailType; `bus` is the stack's bus name, the only
    EventBusName an entry may have).

    Raises UndeclaredIntegrationError for what no role of the stack can be granted: another task integration, a
    function, table, event or bus chosen at run time (`FunctionName.$`, `TableName.$`, `TransactItems.$`,
    `Entries.$`, `Source.$`, `DetailType.$`, `EventBusName.$`), a function, table or bus that is not the stack's, an
    event that is no contract."""
    services: set[str] = set()
    table_actions: set[tuple[str, str]] = set()
    events: set[str] = set()
    problems: list[str] = []

    def table_of(task: str, parameters: Mapping[str, Any]) -> str | None:
        if "TableName.$" in parameters:
            problems.append(
                f"{source}: task {task} chooses its table at run time (TableName.$), so no role can "
                f"name it: write the table's name placeholder."
            )
            return None
        table = (table_names or {}).get(str(parameters.get("TableName", "")))
        if table is None:
            problems.append(
                f"{source}: task {task} uses table {parameters.get('TableName') or 'no table'}, which is "
                f"not one of this stack's table names."
            )
        return table

    for state_name, state in _task_states(definition):
        resource = str(state.get("Resource", ""))
        parameters = state.get("Parameters") or {}
        if resource in TABLE_INTEGRATIONS:
            table = table_of(state_name, parameters)
            if table is not None:
                table_actions.add((table, TABLE_INTEGRATIONS[resource]))
            continue
        if resource == TRANSACT_WRITE_ITEMS:
            table_actions |= _transaction_items(state_name, parameters, table_of, problems, source)
            continue
        if resource == PUT_EVENTS:
            events |= _put_entries(state_name, parameters, bus, problems, source)
            continue
        if resource == LAMBDA_INVOKE and "FunctionName.$" in parameters:
            problems.append(
                f"{source}: task {state_name} chooses its function at run time (FunctionName.$), so no "
                f"role can name it: write the function's ARN placeholder."
            )
            continue
        if resource == LAMBDA_INVOKE:
            target = str(parameters.get("FunctionName", ""))
        elif re.match(r"^arn:aws[a-z-]*:lambda:", resource):
            target = resource
        else:
            problems.append(
                f"{source}: task {state_name} uses the integration {resource}, which no workflow may "
                f"declare (the workflows call Lambda ({LAMBDA_INVOKE}), DynamoDB's "
                f"{', '.join(r.rsplit(':', 1)[1] for r in TABLE_INTEGRATIONS)} and "
                f"{TRANSACT_WRITE_ITEMS.rsplit(':', 1)[1]} ({TRANSACT_WRITE_ITEMS}), and EventBridge's "
                f"putEvents only)."
            )
            continue
        match = _FUNCTION_ARN.match(target)
        service = function_services.get(match.group(1)) if match else None
        if service is None:
            problems.append(
                f"{source}: task {state_name} invokes {target or 'no function'}, which is not one of "
                f"this stack's function ARNs."
            )
            continue
        services.add(service)
    if problems:
        raise UndeclaredIntegrationError(source, problems)
    return Integrations(services, table_actions, events)


def _transaction_items(
    task: str,
    parameters: Mapping[str, Any],
    table_of: Callable[[str, Mapping[str, Any]], str | None],
    problems: list[str],
    source: str,
) -> set[tuple[str, str]]:
    """The (table, IAM action) pair of each of a transactWriteItems task's TransactItems (problems appended)."""
    items = parameters.get("TransactItems")
    if "TransactItems.$" in parameters or not isinstance(items, list) or not items:
        problems.append(
            f"{source}: task {task} does not list its TransactItems literally, so no role can be granted its items: "
            f"write each item (Put, Update, Delete or ConditionCheck) with its table's name placeholder."
        )
        return set()
    pairs: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        kinds = list(item) if isinstance(item, Mapping) else []
        if len(kinds) != 1 or kinds[0] not in TRANSACT_ITEM_ACTIONS or not isinstance(item[kinds[0]], Mapping):
            problems.append(
                f"{source}: task {task} has TransactItems[{i}] {json.dumps(item)}, which is not one "
                f"{' or '.join(TRANSACT_ITEM_ACTIONS)} item."
            )
            continue
        table = table_of(f"{task} (TransactItems[{i}])", item[kinds[0]])
        if table is not None:
            pairs.add((table, TRANSACT_ITEM_ACTIONS[kinds[0]]))
    return pairs


def _put_entries(
    task: str, parameters: Mapping[str, Any], bus: str | None, problems: list[str], source: str
) -> set[str]:
    """The event contract of each Entries item of an events:putEvents task (problems appended)."""
    entries = parameters.get("Entries")
    if "Entries.$" in parameters or not isinstance(entries, list) or not entries:
        problems.append(
            f"{source}: task {task} does not list its Entries literally, so no role can be granted their events: "
            f"write each entry's Source, DetailType and EventBusName."
        )
        return set()
    names: set[str] = set()
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, Mapping) else {}
        where = f"{source}: task {task} (Entries[{i}])"
        chosen = [key for key in ("Source.$", "DetailType.$", "EventBusName.$") if key in entry]
        if chosen:
            problems.append(
                f"{where} chooses {', '.join(chosen)} at run time, so no role's events:source / events:detail-type "
                f"condition can be checked against it: write the contract's ${{<Event>Source}}, "
                f"${{<Event>DetailType}} and ${{EventBusName}} placeholders."
            )
            continue
        if entry.get("EventBusName") != bus or bus is None:
            problems.append(
                f"{where} puts on {entry.get('EventBusName') or 'the default bus'}, which is not this stack's bus "
                f"({bus}): write the ${{EventBusName}} placeholder."
            )
            continue
        contract = event_contracts().for_event(str(entry.get("Source")), str(entry.get("DetailType")))
        if contract is None:
            problems.append(
                f"{where} puts source {entry.get('Source')!r} / detail-type {entry.get('DetailType')!r}, which is "
                f"no event contract (services/shared/schemas/events)."
            )
            continue
        names.add(contract.name)
    return names


def invoked_services(
    definition: Mapping[str, Any],
    function_services: Mapping[str, str],
    *,
    source: str = "<definition>",
    table_names: Mapping[str, str] | None = None,
) -> set[str]:
    """The services whose function a definition invokes (used_integrations' first half)."""
    return used_integrations(definition, function_services, table_names, source=source).services


def _pairs(pairs: set[tuple[str, str]] | frozenset[tuple[str, str]]) -> str:
    return ", ".join(f"{action} on {table}" for table, action in sorted(pairs))


def check_integrations(
    rendered: Mapping[str, Mapping[str, Any]],
    sources: Mapping[str, str],
    values: Mapping[str, Any],
    declared: Mapping[str, frozenset[str]],
    declared_tables: Mapping[str, frozenset[tuple[str, str]]] | None = None,
    declared_puts: Mapping[str, frozenset[str]] | None = None,
) -> None:
    """Every rendered definition invokes exactly the services its workflow declares, does exactly the table actions
    it declares and puts exactly the events it declares (none when it declares none), and every workflow is
    declared."""
    function_services = {values[placeholder]: service for service, placeholder in FUNCTION_PLACEHOLDERS.items()}
    prefix = values["OutboxTableName"].removesuffix("outbox")  # every table is named <project>-<env>-<table>
    table_names = {prefix + t: t for t in tables.definitions()}
    declared_tables = declared_table_actions() if declared_tables is None else declared_tables
    declared_puts = declared_events() if declared_puts is None else declared_puts
    problems: list[str] = []
    for name, definition in rendered.items():
        used, used_tables, used_events = used_integrations(
            definition, function_services, table_names, source=sources[name], bus=values["EventBusName"]
        )
        own_tables = declared_tables.get(name, frozenset())
        if used_tables - own_tables:
            problems.append(
                f"{sources[name]} does {_pairs(used_tables - own_tables)}, which {INTEGRATIONS_PATH.name} does not "
                f"declare for {name} (its tables): declare it, or its role cannot do it."
            )
        if own_tables - used_tables:
            problems.append(
                f"{INTEGRATIONS_PATH.name} declares that {name} does {_pairs(own_tables - used_tables)}, which its "
                f"definition never does: remove it, or its role may do more than it uses."
            )
        own_events = declared_puts.get(name, frozenset())
        if used_events - own_events:
            problems.append(
                f"{sources[name]} puts {', '.join(sorted(used_events - own_events))}, which "
                f"{INTEGRATIONS_PATH.name} does not declare for {name} (its events): declare it, or its role cannot "
                f"put it."
            )
        if own_events - used_events:
            problems.append(
                f"{INTEGRATIONS_PATH.name} declares that {name} puts {', '.join(sorted(own_events - used_events))}, "
                f"which its definition never does: remove it, or its role may put more than it uses."
            )
        if name not in declared:
            problems.append(
                f"{INTEGRATIONS_PATH.name} declares nothing for {name}: declare the services it invokes "
                f"({', '.join(sorted(used))})."
            )
            continue
        if used - declared[name]:
            problems.append(
                f"{sources[name]} invokes {', '.join(sorted(used - declared[name]))}, which "
                f"{INTEGRATIONS_PATH.name} does not declare for {name}: declare it, or its role cannot "
                f"invoke it."
            )
        if declared[name] - used:
            problems.append(
                f"{INTEGRATIONS_PATH.name} declares that {name} invokes "
                f"{', '.join(sorted(declared[name] - used))}, which its definition never does: remove "
                f"it, or its role may invoke more than it uses."
            )
    for name in sorted(set(declared) - set(rendered)):
        problems.append(f"{INTEGRATIONS_PATH.name} declares {name}, which has no template.")
    if problems:
        raise UndeclaredIntegrationError(str(INTEGRATIONS_PATH), problems)


def render_workflows(
    env: str,
    *,
    region: str,
    account_id: str,
    project: str = "orderflow",
    out_dir: Path | None = None,
    template_dir: Path | None = None,
    validate: bool = True,
    integrations: Mapping[str, frozenset[str]] | None = None,
    table_integrations: Mapping[str, frozenset[tuple[str, str]]] | None = None,
    event_integrations: Mapping[str, frozenset[str]] | None = None,
    order_workflow_type: str = "STANDARD",
) -> dict[str, Path]:
    """Render every workflow template for `env`; returns {workflow name: rendered path}.

    Writes `build/<env>/workflow/<name>.asl.json` (or `<out_dir>/<name>.asl.json`). Every template is
    rendered and checked before anything is written, so a failure leaves no partial output. With
    `validate`, each rendered definition must pass statelint. Always, each must invoke exactly the services
    `integrations` (default: `workflow/integrations.json`) declares for it, exactly the table actions
    `table_integrations` (default: its `tables`) declares, and put exactly the events `event_integrations` (default:
    its `events`) declares.
    """
    values = placeholder_values(
        env, region=region, account_id=account_id, project=project, order_workflow_type=order_workflow_type
    )
    target = Path(out_dir) if out_dir is not None else env_build_dir(env) / "workflow"
    rendered: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for name, path in template_paths(template_dir).items():
        source = str(path)
        definition = render_definition(path.read_text(encoding="utf-8"), values, source=source)
        if validate:
            problems = validate_definition(definition)
            if problems:
                raise InvalidDefinitionError(source, "statelint: " + "; ".join(problems), problems=problems)
        rendered[name] = definition
        sources[name] = source
    check_integrations(
        rendered,
        sources,
        values,
        declared_integrations() if integrations is None else integrations,
        table_integrations,
        event_integrations,
    )
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, definition in rendered.items():
        out = target / f"{name}{TEMPLATE_SUFFIX}"
        out.write_text(json.dumps(definition, indent=2) + "\n", encoding="utf-8")
        written[name] = out
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--account-id", required=True)
    parser.add_argument("--project", default="orderflow")
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--order-workflow-type", default="STANDARD", choices=workflow_policies.WORKFLOW_TYPES)
    args = parser.parse_args(argv)
    try:
        paths = render_workflows(
            args.env,
            region=args.region,
            account_id=args.account_id,
            project=args.project,
            out_dir=args.out_dir,
            validate=not args.no_validate,
            order_workflow_type=args.order_workflow_type,
        )
    except RenderError as err:
        print(f"render failed: {err}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
