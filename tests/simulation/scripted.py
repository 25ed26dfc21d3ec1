"""Hand-written interleavings for the regression tests: the same cloud and interpreter as the random schedules,
with the test deciding what runs when (run an execution up to a state, let another actor run, continue)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.simulation import asl
from tests.simulation.cloud import ACCOUNT, REGION, Faults, SimCloud, http_delete
from tests.simulation.engine import ROUTES


@dataclass
class Execution:
    """One workflow execution, driven task by task; every task runs its Lambda to the end."""

    harness: Harness
    workflow: str
    event: dict[str, Any]
    faults: dict[str, list[str]] = field(default_factory=dict)  # state -> errors to raise, one per attempt
    states: list[str] = field(default_factory=list)
    status: str = "RUNNING"
    error: str | None = None
    output: Any = None

    def __post_init__(self) -> None:
        name = str(uuid.uuid4())
        self.context = asl.Context(
            execution_id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:orderflow-sim-{self.workflow}:{name}",
            execution_name=name,
            state_machine_id=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.workflow}",
            start_time=self.harness.cloud.iso(),
            now=self.harness.cloud.iso,
            rng=self.harness.rng,
        )
        self._run = asl.run(self.harness.cloud.definitions[self.workflow], self.event, self.context)
        self._pending: Any = None
        self._advance(None, None)

    def _advance(self, reply: Any, error: asl.StatesError | None) -> None:
        try:
            effect = self._run.throw(error) if error is not None else self._run.send(reply)
            while isinstance(effect, asl.Sleep):
                self.harness.cloud.advance(effect.seconds)
                effect = self._run.send(None)
            self._pending = effect
        except StopIteration as stop:
            self.status, self.output, self._pending = "SUCCEEDED", stop.value, None
        except asl.ExecutionFailed as failed:
            self.status, self.error, self._pending = "FAILED", failed.error, None

    @property
    def next_state(self) -> str | None:
        return self._pending.state_name if self._pending is not None else None

    def step(self, faults: Faults | None = None) -> None:
        """Run the next task; `faults` arms the cloud's faults for an integration task (e.g. a timeout after the
        write took effect: `Faults(dynamodb="timeout")`)."""
        call: asl.TaskCall = self._pending
        self.states.append(call.state_name)
        self.harness.cloud.advance(0.01)  # time passes between tasks, as it does on AWS
        injected = self.faults.get(call.state_name)
        if injected:
            self._advance(None, asl.StatesError(injected.pop(0), "injected by the test"))
            return
        if self.harness.cloud.is_integration(call.resource):
            try:
                answer = self.harness.cloud.integration_task(call, workflow=self.workflow, faults=faults)
            except asl.StatesError as error:
                self._advance(None, error)
                return
            finally:
                self.harness.collect_bus()  # a PutEvents task's events
            self._advance(answer, None)
            return
        function = self.harness.cloud.function_for(call.parameters["FunctionName"])
        try:
            result = self.harness.cloud.invoke(function, call.parameters["Payload"])
        except asl.StatesError as error:
            self._advance(None, error)
            return
        self.harness.collect_bus()
        self._advance({"Payload": result, "StatusCode": 200}, None)

    def run_until(self, state: str) -> Execution:
        """Run tasks until the next one is `state` (not run yet)."""
        while self._pending is not None and self.next_state != state:
            self.step()
        assert self.next_state == state, f"{self.workflow} ended ({self.status}) before {state}: {self.states}"
        return self

    def finish(self) -> Execution:
        while self._pending is not None:
            self.step()
        return self


class Harness:
    def __init__(self, cloud: SimCloud, seed: int = 1) -> None:
        import random

        self.cloud = cloud
        self.rng = random.Random(seed)
        self.events: list[dict[str, Any]] = []
        cloud.reset()

    # --- setup ---------------------------------------------------------------------------------
    def product(self, product_id: str, stock: int, price: str) -> None:
        from shared.repositories.inventory import product_item  # services/ is on the path once cloud is imported

        self.cloud.table("inventory").put_item(Item=product_item(product_id, stock, price=price))

    def order(self, customer: str, lines: list[tuple[str, int]], *, publish_fails: bool = False) -> str:
        from tests.simulation.cloud import Faults

        result = self.cloud.invoke(
            "order",
            {"customerId": customer, "items": [{"productId": p, "quantity": q} for p, q in lines]},
            Faults(publish_fails=publish_fails),
        )
        self.collect_bus()
        return str(result["orderId"])

    def cancel(self, order_id: str, customer: str, *, publish_fails: bool = False) -> int:
        from tests.simulation.cloud import Faults

        response = self.cloud.invoke("order", http_delete(order_id, customer), Faults(publish_fails=publish_fails))
        self.collect_bus()
        return int(response["statusCode"])

    # --- the bus -------------------------------------------------------------------------------
    def collect_bus(self) -> None:
        self.events.extend(self.cloud.bus)
        self.cloud.bus.clear()

    def take(self, detail_type: str) -> dict[str, Any]:
        """Remove and return the first captured event of `detail_type`, as EventBridge delivers it."""
        for index, event in enumerate(self.events):
            if event["detail-type"] == detail_type:
                del self.events[index]
                return self.envelope(event["source"], detail_type, event["detail"])
        raise AssertionError(f"no {detail_type!r} event on the bus: {[e['detail-type'] for e in self.events]}")

    def envelope(self, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": self.cloud.iso(),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }

    def execution(self, event: dict[str, Any], **faults: list[str]) -> Execution:
        workflow = ROUTES[(event["source"], event["detail-type"])]
        return Execution(self, workflow, event, faults=dict(faults))

    def refund_request(self, order_id: str, customer: str) -> Execution:
        detail = {"eventId": str(uuid.uuid4()), "orderId": order_id, "customerId": customer}
        return self.execution(self.envelope("orderflow.operator", "Refund Requested", detail))

    def sweep(self, older_than_minutes: int | None = None) -> Execution:
        detail = {} if older_than_minutes is None else {"olderThanMinutes": older_than_minutes}
        return self.execution(self.envelope("orderflow.scheduler", "Stale Order Sweep Requested", detail)).finish()

    def drain(self) -> list[Execution]:
        """Deliver every captured event that has a workflow (once) and run those executions to their end."""
        done = []
        while self.events:
            event = self.events.pop(0)
            if (event["source"], event["detail-type"]) in ROUTES:
                done.append(
                    self.execution(self.envelope(event["source"], event["detail-type"], event["detail"])).finish()
                )
        return done

    # --- reads ---------------------------------------------------------------------------------
    def stored(self, order_id: str) -> dict[str, Any]:
        return next(o for o in self.cloud.scan("orders") if o["orderId"] == order_id)

    def payment(self, order_id: str) -> dict[str, Any] | None:
        return self.cloud.table("payments").get_item(Key={"orderId": order_id}).get("Item")

    def ledger(self, order_id: str) -> list[dict[str, Any]]:
        return [e for e in self.cloud.scan("payment-gateway") if e["orderId"] == order_id]

    def stock(self, product_id: str) -> tuple[int, int]:
        item = self.cloud.table("inventory").get_item(Key={"productId": product_id})["Item"]
        return int(item["available"]), int(item["reserved"])

    def notifications(self, order_id: str) -> list[str]:
        return [
            k.rsplit("/", 1)[-1]
            for k in self.cloud.notification_keys()
            if k.startswith(f"notifications/{order_id}/") and "/events/" not in k
        ]

    def outbox(self) -> list[str]:
        return [e["id"] for e in self.cloud.scan("outbox")]
