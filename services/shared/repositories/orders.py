"""Orders table: key orderId (HASH) + customerId (RANGE); GSIs CustomerId-Index and Live-Index (the stale sweep).

Live-Index is sparse: `liveShard` (`live#<n>`, n = the orderId's shard, 0..LIVE_SHARDS-1) is written by `create` and
removed by the one status writer (`build_transition`) in the same write that makes the order terminal, so the index
holds exactly the live orders, spread over LIVE_SHARDS partitions, sorted by `updatedAt` (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared import aws, clock, contracts, outbox
from shared.config import config
from shared.errors import EventPublishError, IllegalTransition, OrderNotFound
from shared.lifecycle import OrderStatus, is_terminal, sources_for
from shared.repositories import _ddb

logger = Logger(child=True)

#: the sparse index's hash key: present exactly while the order is live (non-terminal)
LIVE_SHARD_ATTRIBUTE = "liveShard"
#: the index names, from the tables' one definition (schemas/tables.json), which Terraform creates the tables from
CUSTOMER_INDEX = contracts.index_on("orders", "customerId")
LIVE_INDEX = contracts.index_on("orders", LIVE_SHARD_ATTRIBUTE)
#: partitions of Live-Index (docs/architecture.md: each takes <= 1,000 writes/s)
LIVE_SHARDS = 16


#: the workflow execution that processes the order, set once by order-processing's OwnOrder task
OWNER_ATTRIBUTE = "executionId"
#: OwnOrder's write, the one definition of "own the order for this execution" (scripts/render.py renders these into
#: the task, a DynamoDB updateItem integration): set once, then only that execution passes, so a duplicate or replayed
#: execution of the same order fails the condition and ends before it acts. `:execution` is the execution's ARN.
OWN_EXECUTION_VALUE = ":execution"
OWN_UPDATE_EXPRESSION = f"SET {OWNER_ATTRIBUTE} = {OWN_EXECUTION_VALUE}"
OWN_CONDITION_EXPRESSION = f"attribute_exists(orderId) AND (attribute_not_exists({OWNER_ATTRIBUTE}) OR {OWNER_ATTRIBUTE} = {OWN_EXECUTION_VALUE})"
#: the id of the order's "Order Completed" event, written by `create` (events.event_id, the one rule for event ids) and
#: returned by OwnOrder's write: the workflow completes the order without a Lambda, so it cannot compute the id
COMPLETED_EVENT_ID_ATTRIBUTE = "completedEventId"
#: the statusHistory reason of INVENTORY_RESERVED -> COMPLETED
COMPLETED_REASON = "order completed"


def shard_key(shard: int) -> str:
    """The Live-Index hash key of partition `shard`: `live#<shard>`."""
    return f"live#{shard}"


def live_shard(order_id: str) -> str:
    """The order's Live-Index partition key, shard = sha256(orderId) mod LIVE_SHARDS (stable, uniform)."""
    return shard_key(int(hashlib.sha256(order_id.encode()).hexdigest(), 16) % LIVE_SHARDS)


@dataclass(frozen=True)
class TransitionUpdate:
    """The UpdateItem parts of a status transition (usable standalone or inside TransactWriteItems)."""

    key: dict[str, Any]
    update_expression: str
    condition_expression: str
    names: dict[str, str]
    values: dict[str, Any]

    def as_transact_update(self, table_name: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": table_name,
                "Key": _ddb.serialize_map(self.key),
                "UpdateExpression": self.update_expression,
                "ConditionExpression": self.condition_expression,
                "ExpressionAttributeNames": self.names,
                "ExpressionAttributeValues": _ddb.serialize_map(self.values),
            }
        }


def build_transition(
    order_id: str,
    customer_id: str,
    target: str,
    reason: str,
    *,
    expected_from: Iterable[str] | None = None,
    extra_set: dict[str, Any] | None = None,
    extra_remove: Iterable[str] = (),
    extra_condition: tuple[str, dict[str, str], dict[str, Any]] | None = None,
    at: str | None = None,
) -> TransitionUpdate:
    """Conditional update current-status -> target, appending {status, at, reason} to statusHistory.

    The condition allows only the statuses from which the lifecycle permits `target` (optionally narrowed
    by `expected_from`), so an illegal transition is refused atomically by DynamoDB. `extra_condition` is
    (expression, names, values) ANDed to it (e.g. "the owner is this execution", "not updated since").
    """
    target_status = OrderStatus(target)
    allowed = set(sources_for(target_status))
    if expected_from is not None:
        allowed &= {OrderStatus(s) for s in expected_from}
    if not allowed:
        raise IllegalTransition(order_id, ",".join(sorted(expected_from or [])) or None, target_status.value)
    at = at or clock.now_iso()
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":target": target_status.value,
        ":history": [{"status": target_status.value, "at": at, "reason": reason}],
        ":empty": [],
        ":now": at,
        ":zero": 0,
        ":one": 1,
    }
    placeholders = []
    for index, status in enumerate(sorted(allowed)):
        values[f":from{index}"] = status.value
        placeholders.append(f":from{index}")
    sets = [
        "#status = :target",
        "statusHistory = list_append(if_not_exists(statusHistory, :empty), :history)",
        "updatedAt = :now",
        "version = if_not_exists(version, :zero) + :one",
    ]
    for index, (attr, value) in enumerate((extra_set or {}).items()):
        names[f"#x{index}"] = attr
        values[f":x{index}"] = value
        sets.append(f"#x{index} = :x{index}")
    expression = "SET " + ", ".join(sets)
    removes = list(extra_remove)
    if is_terminal(target_status):  # leaves Live-Index in the write that ends the order's life
        removes.append(LIVE_SHARD_ATTRIBUTE)
    if removes:
        for index, attr in enumerate(removes):
            names[f"#r{index}"] = attr
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    condition = f"attribute_exists(orderId) AND #status IN ({', '.join(placeholders)})"
    if extra_condition is not None:
        extra_expression, extra_names, extra_values = extra_condition
        condition += f" AND ({extra_expression})"
        names.update(extra_names)
        values.update(extra_values)
    return TransitionUpdate(
        key={"orderId": order_id, "customerId": customer_id},
        update_expression=expression,
        condition_expression=condition,
        names=names,
        values=values,
    )


def transition_write(
    order_id: str,
    customer_id: str,
    target: str,
    reason: str,
    *,
    at: str,
    expected_from: Iterable[str] | None = None,
    extra_set: dict[str, Any] | None = None,
    extra_remove: Iterable[str] = (),
    extra_condition: tuple[str, dict[str, str], dict[str, Any]] | None = None,
    claim_by: str | None = None,
    events_to_publish: Iterable[tuple[str, str, dict[str, Any]]] = (),
) -> tuple[TransitionUpdate, list[dict[str, Any]]]:
    """The whole write of a transition: the order's update and the outbox entries that go with it (pure).

    Entering a terminal status needs `claim_by`: the update records `claim = {by, status, at}` and a finalize duty
    joins the entries. `events_to_publish` ((source, detail-type, detail with eventId)) become event entries.
    """
    terminal = is_terminal(target)
    if terminal != (claim_by is not None):
        raise ValueError(f"{target}: claim_by is required exactly for terminal statuses")
    extra = dict(extra_set or {})
    if claim_by is not None:
        extra["claim"] = {"by": claim_by, "status": str(target), "at": at}
    update = build_transition(
        order_id,
        customer_id,
        target,
        reason,
        expected_from=expected_from,
        extra_set=extra,
        extra_remove=extra_remove,
        extra_condition=extra_condition,
        at=at,
    )
    entries = [
        outbox.event_entry(order_id, customer_id, source, detail_type, detail, at)
        for source, detail_type, detail in events_to_publish
    ]
    if terminal:
        entries.append(outbox.finalize_entry(order_id, customer_id, str(target), at))
    return update, entries


def transaction_items(
    update: TransitionUpdate,
    entries: Iterable[dict[str, Any]],
    *,
    orders_table: str | None = None,
    outbox_table: str | None = None,
) -> list[dict[str, Any]]:
    """TransactWriteItems of a transition: the order's update, then a Put of each outbox entry (default tables: the
    configured ones; scripts/render.py passes an environment's names to render order-processing's CompleteOrder)."""
    return [update.as_transact_update(orders_table or config.orders_table)] + [
        outbox.put_action(e, outbox_table) for e in entries
    ]


def completed_event(order_id: str, customer_id: str, total_amount: str, event_id: str) -> dict[str, Any]:
    """The detail of "Order Completed" (services/shared/schemas/events/OrderCompleted.json)."""
    return {"eventId": event_id, "orderId": order_id, "customerId": customer_id, "totalAmount": total_amount}


def completion_write(
    order_id: str, customer_id: str, execution: str, total_amount: str, event_id: str, at: str
) -> tuple[TransitionUpdate, list[dict[str, Any]]]:
    """INVENTORY_RESERVED -> COMPLETED for the execution that owns the order, queuing "Order Completed": the one
    definition of completing an order. No Lambda runs it: scripts/render.py renders it into order-processing's
    CompleteOrder task (a TransactWriteItems integration), the values that vary per order as paths of its state."""
    return transition_write(
        order_id,
        customer_id,
        OrderStatus.COMPLETED,
        COMPLETED_REASON,
        at=at,
        extra_condition=(f"{OWNER_ATTRIBUTE} = :owner", {}, {":owner": execution}),
        claim_by=execution,
        events_to_publish=[
            (
                contracts.EVENTS["OrderCompleted"].source,
                contracts.EVENTS["OrderCompleted"].detail_type,
                completed_event(order_id, customer_id, total_amount, event_id),
            )
        ],
    )


class AlreadyClaimed(Exception):
    """The claim was already made by the same claimer (a retry after the effect); transition() returns the order."""

    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__(f"order {order['orderId']} already claimed by {order['claim']['by']}")
        self.order = order


class OrdersRepository:
    @property
    def table_name(self) -> str:
        return config.orders_table

    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    # --- writes -----------------------------------------------------------------------------
    def create(self, order: dict[str, Any], events_to_publish: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Put the new order (attribute_not_exists) and its events in the outbox in one transaction, then publish.

        A publish that fails leaves the event in the outbox: the order is accepted and the sweep delivers it.
        """
        entries = [
            outbox.event_entry(order["orderId"], order["customerId"], source, detail_type, detail, order["createdAt"])
            for source, detail_type, detail in events_to_publish
        ]
        aws.dynamodb_client().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _ddb.serialize_map({**order, LIVE_SHARD_ATTRIBUTE: live_shard(order["orderId"])}),
                        "ConditionExpression": "attribute_not_exists(orderId)",
                    }
                },
                *(outbox.put_action(e) for e in entries),
            ]
        )
        self._publish(entries)

    def transition(self, order_id: str, customer_id: str, target: str, reason: str, **write: Any) -> dict[str, Any]:
        """Apply a lifecycle transition; returns the updated order. The one writer of an order's status (`write`:
        transition_write's keyword arguments but `at`, which is now).

        Entering a terminal status needs `claim_by` (who claims): the same TransactWriteItems records
        `claim = {by, status, at}` on the order and the finalize duty in the outbox. `events_to_publish`
        ((source, detail-type, detail with eventId)) go into the outbox in that transaction and are published
        right after it (a failed publish is left to the sweep). A retry by the same claimer of a claim that
        already took effect returns the order as if it had just succeeded.
        Raises IllegalTransition (logged) when the current status does not allow it, OrderNotFound when
        the order does not exist.
        """
        claim_by = write.get("claim_by")
        try:
            update, entries = transition_write(order_id, customer_id, target, reason, at=clock.now_iso(), **write)
        except IllegalTransition:  # no status at all may enter `target` (from expected_from)
            raise self._refused(order_id, customer_id, target, None) from None
        try:
            if entries:
                aws.dynamodb_client().transact_write_items(TransactItems=transaction_items(update, entries))
                order = self.require(order_id, customer_id)
            else:
                response = self._table.update_item(
                    Key=update.key,
                    UpdateExpression=update.update_expression,
                    ConditionExpression=update.condition_expression,
                    ExpressionAttributeNames=update.names,
                    ExpressionAttributeValues=update.values,
                    ReturnValues="ALL_NEW",
                )
                order = response["Attributes"]
        except ClientError as exc:
            refused = _ddb.is_conditional_failure(exc) or (
                _ddb.is_transaction_cancelled(exc) and _ddb.cancellation_codes(exc, 1) == ["ConditionalCheckFailed"]
            )
            if not refused:
                raise
            outcome = self._refused(order_id, customer_id, target, claim_by)
            if not isinstance(outcome, AlreadyClaimed):
                raise outcome from exc
            # its events went to the outbox with the first write: the sweep delivers any that are still pending
            logger.info("claim already held by this claimer", extra={"orderId": order_id, "claimBy": claim_by})
            return outcome.order
        logger.info(
            "order status changed",
            extra={"orderId": order_id, "status": target, "reason": reason, "version": order.get("version")},
        )
        self._publish([e for e in entries if e["kind"] == outbox.EVENT])
        return order

    def _refused(self, order_id: str, customer_id: str, target: str, claim_by: str | None) -> Exception:
        """Why a transition was refused; AlreadyClaimed when this claimer already holds that claim (not an error)."""
        current = self.get(order_id, customer_id)
        if current is None:
            return OrderNotFound(order_id)
        claim = current.get("claim") or {}
        if claim_by is not None and current.get("status") == target and claim.get("by") == claim_by:
            return AlreadyClaimed(current)
        return self.illegal(current, target)

    @staticmethod
    def _publish(entries: list[dict[str, Any]]) -> None:
        try:
            outbox.publish(entries)
        except EventPublishError:  # the entries stay in the outbox; the sweep republishes them
            logger.warning("event left in the outbox for the sweep", extra={"eventIds": [e["id"] for e in entries]})

    @staticmethod
    def illegal(current: dict[str, Any], target: str) -> IllegalTransition:
        """Build (and log) the IllegalTransition for an order whose status refused `target`."""
        logger.warning(
            "illegal order transition refused",
            extra={"orderId": current.get("orderId"), "from": current.get("status"), "to": target},
        )
        return IllegalTransition(current["orderId"], current.get("status"), target, order=current)

    def update_attributes(
        self, order_id: str, customer_id: str, *, set_: dict[str, Any] | None = None, remove: Iterable[str] = ()
    ) -> None:
        """Plain attribute update on an existing order (no status change)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        parts = []
        sets = []
        for index, (attr, value) in enumerate((set_ or {}).items()):
            names[f"#s{index}"] = attr
            values[f":s{index}"] = value
            sets.append(f"#s{index} = :s{index}")
        if sets:
            parts.append("SET " + ", ".join(sets))
        removes = []
        for index, attr in enumerate(remove):
            names[f"#r{index}"] = attr
            removes.append(f"#r{index}")
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        if not parts:
            return
        kwargs: dict[str, Any] = {
            "Key": {"orderId": order_id, "customerId": customer_id},
            "UpdateExpression": " ".join(parts),
            "ConditionExpression": "attribute_exists(orderId)",
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._table.update_item(**kwargs)

    # --- reads ------------------------------------------------------------------------------
    def get(self, order_id: str, customer_id: str) -> dict[str, Any] | None:
        """Strongly consistent GetItem on the full key; None for an unknown id or another customer's order."""
        return self._table.get_item(Key={"orderId": order_id, "customerId": customer_id}, ConsistentRead=True).get(
            "Item"
        )

    def find(self, order_id: str) -> dict[str, Any] | None:
        """By orderId alone, for the API paths that know no customer (an admin's read): a strongly consistent Query
        on the hash key (the table key is orderId + customerId; only the order function's role may Query)."""
        response = self._table.query(
            KeyConditionExpression=Key("orderId").eq(order_id),
            ConsistentRead=True,
            Limit=1,
        )
        items = response.get("Items") or []
        return items[0] if items else None

    def require(self, order_id: str, customer_id: str) -> dict[str, Any]:
        order = self.get(order_id, customer_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def list_by_customer(
        self, customer_id: str, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Newest first via CustomerId-Index; returns (orders, LastEvaluatedKey|None)."""
        kwargs: dict[str, Any] = {
            "IndexName": CUSTOMER_INDEX,
            "KeyConditionExpression": Key("customerId").eq(customer_id),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._table.query(**kwargs)
        return list(response.get("Items") or []), response.get("LastEvaluatedKey")

    @staticmethod
    def customer_index_key(order: dict[str, Any]) -> dict[str, Any]:
        """The CustomerId-Index key of `order` (table key + index key), as its LastEvaluatedKey would be: a listing
        that stops inside a page goes on after this order."""
        return {"orderId": order["orderId"], "customerId": order["customerId"], "createdAt": order["createdAt"]}

    def live_updated_before(
        self, shard: int, cutoff_iso: str, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One Live-Index query of shard `shard`: liveShard = live#<shard> AND updatedAt < cutoff, oldest first, at
        most `limit` items (the sweep reads only the keys); returns (items, LastEvaluatedKey|None)."""
        kwargs: dict[str, Any] = {
            "IndexName": LIVE_INDEX,
            "KeyConditionExpression": Key(LIVE_SHARD_ATTRIBUTE).eq(shard_key(shard)) & Key("updatedAt").lt(cutoff_iso),
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._table.query(**kwargs)
        return list(response.get("Items") or []), response.get("LastEvaluatedKey")
