"""Circuit breaker around the payment gateway, state shared in DynamoDB (CIRCUIT_BREAKER_TABLE).

Item `{name, state: CLOSED|OPEN|HALF_OPEN, failures, openedAt (epoch s), trialStartedAt (epoch s)}`.

- CLOSED: calls pass. Each technical failure does an atomic `ADD failures 1` (only while CLOSED); when the
  returned count reaches the threshold a conditional update (state = CLOSED AND failures >= threshold) opens
  the circuit. A success resets `failures` to 0 (consecutive failures).
- OPEN: calls fail fast with CircuitOpenError (retryable) without calling the gateway until
  `cooldown` seconds after `openedAt`; then exactly one caller wins the conditional OPEN -> HALF_OPEN update
  and makes the trial call (the others keep failing fast).
- HALF_OPEN: trial success -> CLOSED (failures 0); trial failure -> OPEN again with a new openedAt.
  A trial that never reported (crashed Lambda) is taken over by a new trial after another cool-down.

All writes are conditional/ADD updates, so concurrent Lambdas cannot corrupt the state. The clock is injectable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from shared import aws, observability
from shared.config import config
from shared.errors import CircuitOpenError, PaymentGatewayUnavailable
from shared.repositories import _ddb

logger = Logger(child=True)
T = TypeVar("T")

CLOSED = "CLOSED"
OPEN = "OPEN"
HALF_OPEN = "HALF_OPEN"
DEFAULT_NAME = "payment-gateway"


class CircuitBreaker:
    def __init__(
        self,
        table_name: str,
        name: str = DEFAULT_NAME,
        failure_threshold: int = 5,
        cooldown_seconds: float = 30,
        clock: Callable[[], float] = time.time,
        failure_types: tuple[type[BaseException], ...] = (PaymentGatewayUnavailable,),
    ) -> None:
        self.table_name = table_name
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock
        self.failure_types = failure_types

    @classmethod
    def from_config(cls, clock: Callable[[], float] = time.time) -> CircuitBreaker:
        return cls(
            table_name=config.circuit_breaker_table,
            failure_threshold=config.circuit_failure_threshold,
            cooldown_seconds=config.circuit_cooldown_seconds,
            clock=clock,
        )

    # --- storage --------------------------------------------------------------------------------
    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    def state(self) -> dict[str, Any]:
        item = self._table.get_item(Key={"name": self.name}, ConsistentRead=True).get("Item") or {}
        return {
            "state": item.get("state", CLOSED),
            "failures": int(item.get("failures", 0)),
            "openedAt": item.get("openedAt"),
            "trialStartedAt": item.get("trialStartedAt"),
        }

    def _now(self) -> Decimal:
        return Decimal(str(round(self.clock(), 3)))

    def _conditional_update(self, **kwargs: Any) -> dict[str, Any] | None:
        """update_item; None when the condition failed (somebody else changed the state first)."""
        try:
            return self._table.update_item(Key={"name": self.name}, **kwargs)
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return None
            raise

    # --- protocol ---------------------------------------------------------------------------------
    def before_call(self) -> tuple[bool, int]:
        """Raise CircuitOpenError when the call must not happen; return (is_trial, failures_seen)."""
        current = self.state()
        state, now = current["state"], self._now()
        if state == CLOSED:
            return False, current["failures"]
        if state == OPEN:
            opened_at = Decimal(current["openedAt"] or 0)
            remaining = float(opened_at) + self.cooldown_seconds - float(now)
            if remaining > 0:
                raise CircuitOpenError(f"circuit {self.name} is open; retry in {remaining:.1f}s", remaining)
            claimed = self._conditional_update(
                UpdateExpression="SET #state = :half, trialStartedAt = :now",
                ConditionExpression="#state = :open AND (attribute_not_exists(openedAt) OR openedAt = :opened)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":half": HALF_OPEN, ":open": OPEN, ":now": now, ":opened": opened_at},
            )
            if claimed is None:
                raise CircuitOpenError(f"circuit {self.name} trial already taken", self.cooldown_seconds)
            logger.info("circuit half-open: trial call", extra={"circuit": self.name})
            return True, current["failures"]
        # HALF_OPEN: a trial is in flight; take it over only if it went silent for a full cool-down
        started = Decimal(current["trialStartedAt"] or 0)
        if float(started) + self.cooldown_seconds > float(now):
            raise CircuitOpenError(f"circuit {self.name} is half-open (trial in progress)", self.cooldown_seconds)
        claimed = self._conditional_update(
            UpdateExpression="SET trialStartedAt = :now",
            ConditionExpression=(
                "#state = :half AND (attribute_not_exists(trialStartedAt) OR trialStartedAt = :started)"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":half": HALF_OPEN, ":now": now, ":started": started},
        )
        if claimed is None:
            raise CircuitOpenError(f"circuit {self.name} trial already taken", self.cooldown_seconds)
        return True, current["failures"]

    def record_success(self, trial: bool, failures_seen: int) -> None:
        if trial:
            closed = self._conditional_update(
                UpdateExpression="SET #state = :closed, failures = :zero REMOVE openedAt, trialStartedAt",
                ConditionExpression="#state = :half",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":closed": CLOSED, ":half": HALF_OPEN, ":zero": 0},
            )
            if closed is not None:
                logger.info("circuit closed after successful trial", extra={"circuit": self.name})
                observability.count("CircuitClosed")
        elif failures_seen:
            self._conditional_update(
                UpdateExpression="SET failures = :zero",
                ConditionExpression="#state = :closed",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":closed": CLOSED, ":zero": 0},
            )

    def record_failure(self, trial: bool) -> None:
        now = self._now()
        if trial:
            reopened = self._conditional_update(
                UpdateExpression="SET #state = :open, openedAt = :now REMOVE trialStartedAt",
                ConditionExpression="#state = :half",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":open": OPEN, ":half": HALF_OPEN, ":now": now},
            )
            if reopened is not None:
                logger.warning("circuit re-opened after failed trial", extra={"circuit": self.name})
                observability.count("CircuitOpened")
            return
        counted = self._conditional_update(
            UpdateExpression="SET #state = if_not_exists(#state, :closed) ADD failures :one",
            ConditionExpression="attribute_not_exists(#name) OR #state = :closed",
            ExpressionAttributeNames={"#state": "state", "#name": "name"},
            ExpressionAttributeValues={":closed": CLOSED, ":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        if counted is None:  # already OPEN/HALF_OPEN: nothing to count
            return
        failures = int(counted["Attributes"]["failures"])
        if failures < self.failure_threshold:
            return
        opened = self._conditional_update(
            UpdateExpression="SET #state = :open, openedAt = :now",
            ConditionExpression="#state = :closed AND failures >= :threshold",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":open": OPEN,
                ":closed": CLOSED,
                ":now": now,
                ":threshold": self.failure_threshold,
            },
        )
        if opened is not None:
            logger.warning("circuit opened", extra={"circuit": self.name, "failures": failures})
            observability.count("CircuitOpened")

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` through the breaker. Only `failure_types` count as technical failures."""
        trial, failures_seen = self.before_call()
        try:
            result = fn(*args, **kwargs)
        except self.failure_types:
            self.record_failure(trial)
            raise
        self.record_success(trial, failures_seen)
        return result
