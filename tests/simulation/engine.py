"""Seeded exploration of saga interleavings: one schedule = one scenario, one interleaving, one set of faults.

A schedule (all choices drawn from `random.Random(seed)`, so a seed replays exactly):
- a catalogue of one or two scarce products and one to three orders from the public order service;
- actors racing on them: every bus event is delivered at least once (an "Order Created" up to three times, so two
  or three executions of order-processing start for one order), a customer cancel, an operator refund request,
  a restock, a sweep with a zero threshold (it expires everything live) at random moments;
- faults injected at task boundaries within a budget: an invoke refused before the handler ran, a Lambda timeout
  after it ran (the retry redoes work already done), DynamoDB throttling before a write, a read timeout after a
  write, a PutEvents that fails after the write it reports; and a flaky gateway (circuit breaker, parking);
- the scheduler picks the next actor among those due at every task boundary; time is virtual (Wait states, retry
  back-off and the circuit breaker's cool-down all pass in no real time);
- then quiescence: the clock jumps past the stale threshold and sweeps run until nothing is pending.
The rendered workflows (workflow/*.asl.json, rendered as for deploy) run in tests/simulation/asl.py and the
services' real handlers run in process against moto (tests/simulation/cloud.py). invariants.py judges the end state.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.simulation import asl
from tests.simulation.cloud import ACCOUNT, REGION, Faults, SimCloud, http_delete

ROUTES: dict[tuple[str, str], str] = {
    ("order.service", "Order Created"): "order-processing",
    ("order.service", "Order Cancellation Requested"): "payment-processing",
    ("orderflow.operator", "Refund Requested"): "payment-processing",
    ("inventory.admin", "Inventory Restocked"): "inventory-management",
    ("orderflow.scheduler", "Stale Order Sweep Requested"): "inventory-management",
}
FAULT_KINDS = ("before", "after", "throttle", "timeout", "publish")
CUSTOMERS = ("alice", "bob", "carol", "customer-declined")
MAX_STEPS = 4000
QUIESCENCE_SWEEPS = 4
#: the sweep schedule's period (tfvars `stale_sweep_schedule_expression`, rate(5 minutes), well under the stale threshold) and a jump past
#: STALE_ORDER_MINUTES (30)
SWEEP_PERIOD_SECONDS = 5 * 60
STALE_JUMP_SECONDS = 31 * 60


@dataclass
class OrderPlan:
    customer: str
    lines: list[tuple[str, int]]
    deliveries: int
    cancel_after: float | None
    refund_after: float | None
    order_id: str | None = None


@dataclass
class Plan:
    products: dict[str, tuple[int, str]]  # productId -> (initial stock, price)
    orders: list[OrderPlan]
    restock: tuple[str, int, float] | None
    sweep_after: float | None
    gateway_fault_rate: float
    fault_budget: int
    fault_rate: float

    @staticmethod
    def draw(rng: random.Random) -> Plan:
        products = {
            f"p{i}": (rng.randint(0, 3), rng.choice(["9.99", "25.00", "120.50", "310.00"]))
            for i in range(rng.randint(1, 2))
        }
        orders = []
        for _ in range(rng.randint(1, 3)):
            lines = rng.sample(sorted(products), rng.randint(1, len(products)))
            orders.append(
                OrderPlan(
                    customer=rng.choice(CUSTOMERS),
                    lines=[(pid, rng.randint(1, 2)) for pid in lines],
                    deliveries=rng.choice([1, 1, 2, 2, 3]),
                    cancel_after=rng.uniform(0, 3) if rng.random() < 0.35 else None,
                    refund_after=rng.uniform(0, 3) if rng.random() < 0.3 else None,
                )
            )
        restock = (rng.choice(sorted(products)), rng.randint(1, 2), rng.uniform(0, 3)) if rng.random() < 0.3 else None
        return Plan(
            products=products,
            orders=orders,
            restock=restock,
            sweep_after=rng.uniform(0, 4) if rng.random() < 0.25 else None,
            gateway_fault_rate=rng.choice([0.0, 0.0, 0.0, 0.3, 0.7]),
            fault_budget=rng.choice([0, 1, 2, 3, 4]),
            fault_rate=rng.choice([0.05, 0.15, 0.3]),
        )


@dataclass
class Actor:
    name: str
    steps: Iterator[None]
    wake_at: float = 0.0


@dataclass
class Outcome:
    seed: int
    plan: Plan
    trace: list[str] = field(default_factory=list)
    #: orderId -> the executions of order-processing that acted on it (got past OwnOrder to the charge)
    owners: dict[str, set[str]] = field(default_factory=dict)
    restocked: dict[str, int] = field(default_factory=dict)
    refund_requested: set[str] = field(default_factory=set)
    #: orders the quiescence sweeps had to expire: a live order nobody was processing any more (stranded)
    stranded: int = 0
    #: every event put on the bus (by a service or a workflow's PutEvents task), in order: what the invariants read
    published: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    executions: int = 0
    faults: int = 0
    violations: list[str] = field(default_factory=list)


class Schedule:
    def __init__(self, cloud: SimCloud, seed: int) -> None:
        self.cloud = cloud
        self.seed = seed
        self.rng = random.Random(seed)
        self.plan = Plan.draw(self.rng)
        self.outcome = Outcome(seed=seed, plan=self.plan)
        self.actors: list[Actor] = []
        self.clock = 0.0  # seconds since the schedule started (the cloud's clock follows)
        self.faults_left = self.plan.fault_budget
        self.quiescent = False  # set once every planned actor has finished
        self._current: Actor | None = None  # the actor being stepped (its sleeps set its wake-up time)

    # --- helpers -------------------------------------------------------------------------------
    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def log(self, text: str) -> None:
        self.outcome.trace.append(f"{self.clock:9.3f}s {text}")

    def spawn(self, name: str, steps: Iterator[None], delay: float = 0.0) -> None:
        self.actors.append(Actor(name, steps, self.clock + delay))

    def _tick(self, seconds: float) -> None:
        self.clock += seconds
        self.cloud.advance(seconds)

    # --- the bus -------------------------------------------------------------------------------
    def deliver_bus(self) -> None:
        """Route every event the services put since the last step; each is delivered at least once."""
        while self.cloud.bus:
            event = self.cloud.bus.pop(0)
            self.outcome.published.append(event)
            self._route(event["source"], event["detail-type"], event["detail"])

    def _route(self, source: str, detail_type: str, detail: dict[str, Any], copies: int | None = None) -> None:
        workflow = ROUTES.get((source, detail_type))
        if workflow is None:
            return  # informational events (payment/inventory): only the notification Lambda consumes them
        if copies is None:
            copies = 1 + (self.rng.random() < 0.2)
            if detail_type == "Order Created":
                order = next((o for o in self.plan.orders if o.order_id == detail.get("orderId")), None)
                copies = order.deliveries if order else 1
        envelope = {
            "version": "0",
            "id": self._id(),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": self.cloud.iso(),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
        for copy in range(copies):
            self.spawn(
                f"{workflow}#{len(self.actors)}", self._execution(workflow, envelope), delay=self.rng.uniform(0, 2.0)
            )

    # --- actors --------------------------------------------------------------------------------
    def _execution(self, workflow: str, event: dict[str, Any]) -> Iterator[None]:
        name = self._id()
        context = asl.Context(
            execution_id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:orderflow-sim-{workflow}:{name}",
            execution_name=name,
            state_machine_id=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:orderflow-sim-{workflow}",
            start_time=self.cloud.iso(),
            now=self.cloud.iso,
            rng=self.rng,
        )
        self.outcome.executions += 1
        run = asl.run(self.cloud.definitions[workflow], event, context)
        label = f"{workflow}:{name[:8]}"
        reply: Any = None
        throw: asl.StatesError | None = None
        while True:
            try:
                effect = run.throw(throw) if throw is not None else run.send(reply)
            except StopIteration as stop:
                self.log(f"{label} succeeded")
                if self.quiescent and workflow == "inventory-management" and isinstance(stop.value, dict):
                    self.outcome.stranded += int(stop.value.get("expired", 0))
                return
            except asl.ExecutionFailed as failed:
                self.log(f"{label} failed {failed.error}: {failed.cause[:200]}")
                return
            reply, throw = None, None
            if isinstance(effect, asl.Sleep):
                self.log(f"{label} sleeps {effect.seconds:.1f}s ({effect.reason})")
                yield from self._sleep(effect.seconds)
                continue
            yield None  # a task boundary: another actor may run first
            try:
                reply = yield from self._task(workflow, label, effect)
            except asl.StatesError as error:
                throw = error

    def _sleep(self, seconds: float) -> Iterator[None]:
        actor = self._current
        assert actor is not None
        actor.wake_at = self.clock + seconds
        yield None

    def _draw_fault(self) -> str | None:
        if self.faults_left > 0 and self.rng.random() < self.plan.fault_rate:
            self.faults_left -= 1
            self.outcome.faults += 1
            return self.rng.choice(FAULT_KINDS)
        return None

    def _call(self, function: str, payload: Any, faults: Faults) -> Iterator[None]:
        """Run one invocation, yielding to the scheduler before each of its AWS calls; returns its result."""
        invocation = self.cloud.start_invocation(function, payload, faults)
        while not invocation.step():
            yield None
        if invocation.error is not None:
            raise invocation.error
        return invocation.result

    def _task(self, workflow: str, label: str, call: asl.TaskCall) -> Iterator[None]:
        if self.cloud.is_integration(call.resource):
            return (yield from self._integration_task(workflow, label, call))
        function = self.cloud.function_for(call.parameters["FunctionName"])
        if call.state_name == "ProcessPayment":  # past OwnOrder: this execution acts on the order
            order_id = call.parameters["Payload"]["order"]["orderId"]
            self.outcome.owners.setdefault(order_id, set()).add(call.execution.execution_id)
        fault = self._draw_fault()
        self.log(f"{label} {call.state_name} try {call.retry_count}{' fault=' + fault if fault else ''}")
        if fault == "before":
            raise asl.StatesError("Lambda.TooManyRequestsException", "simulated: rate exceeded before the invoke")
        faults = Faults()
        if fault in ("throttle", "timeout"):
            faults.dynamodb, faults.dynamodb_skip = fault, self.rng.randint(0, 3)
        elif fault == "publish":
            faults.publish_fails = True
        result = yield from self._call(function, call.parameters["Payload"], faults)
        if fault == "after":
            raise asl.StatesError("Sandbox.Timedout", "simulated: the invoke timed out after the handler ran")
        return {"Payload": result, "StatusCode": 200}

    def _integration_task(self, workflow: str, label: str, call: asl.TaskCall) -> Iterator[None]:
        """A task that calls an AWS API itself (a DynamoDB integration, the transaction, PutEvents): one call,
        interleaved like a Lambda's. A fault is armed for whichever service that call reaches: refused before any
        effect (DynamoDB throttling, a failed PutEvents entry), or the call took effect and the task timed out (Step
        Functions retries it); a publish fault fails a PutEvents entry and leaves a DynamoDB call alone."""
        fault = self._draw_fault()
        self.log(f"{label} {call.state_name} try {call.retry_count}{' fault=' + fault if fault else ''}")
        yield None
        faults = Faults()
        if fault in ("before", "throttle"):
            faults.dynamodb, faults.publish_fails = "throttle", True
        elif fault in ("after", "timeout"):
            faults.dynamodb, faults.publish_times_out = "timeout", True
        elif fault == "publish":
            faults.publish_fails = True
        return self.cloud.integration_task(call, workflow=workflow, faults=faults)

    def _create(self, order: OrderPlan) -> Iterator[None]:
        yield None
        faults = Faults(publish_fails=self._draw_fault() is not None)
        lines = [{"productId": p, "quantity": q} for p, q in order.lines]
        try:
            result = yield from self._call("order", {"customerId": order.customer, "items": lines}, faults)
        except asl.StatesError as error:  # e.g. an unpriced line: the order is refused
            self.log(f"create {order.customer} refused {error.error}")
            return
        order.order_id = result["orderId"]
        self.log(f"create {order.customer} -> {order.order_id[:8]}{' (publish lost)' if faults.publish_fails else ''}")
        if order.cancel_after is not None:
            self.spawn(f"cancel:{order.order_id[:8]}", self._cancel(order), delay=order.cancel_after)
        if order.refund_after is not None:
            self.spawn(f"refund:{order.order_id[:8]}", self._refund_request(order), delay=order.refund_after)

    def _cancel(self, order: OrderPlan) -> Iterator[None]:
        """The customer's DELETE, through the order Lambda's HTTP API with the customer's JWT claims."""
        yield None
        faults = Faults(publish_fails=self._draw_fault() is not None)
        response = yield from self._call("order", http_delete(str(order.order_id), order.customer), faults)
        self.log(f"cancel {str(order.order_id)[:8]} -> {response['statusCode']}")
        if response["statusCode"] not in (202, 409):
            self.outcome.violations.append(f"cancel of {order.order_id} answered {response['statusCode']}")

    def _refund_request(self, order: OrderPlan) -> Iterator[None]:
        yield None
        self.outcome.refund_requested.add(str(order.order_id))
        self.log(f"operator refund request {str(order.order_id)[:8]}")
        self._route(
            "orderflow.operator",
            "Refund Requested",
            {"eventId": self._id(), "orderId": order.order_id, "customerId": order.customer},
        )

    def _restock(self, product: str, quantity: int) -> Iterator[None]:
        yield None
        self.outcome.restocked[product] = self.outcome.restocked.get(product, 0) + quantity
        self.log(f"restock {product} +{quantity}")
        self._route(
            "inventory.admin",
            "Inventory Restocked",
            {"eventId": self._id(), "productId": product, "quantity": quantity},
        )

    def _sweep(self, minutes: int | None) -> Iterator[None]:
        yield None
        self.log(f"sweep requested (olderThanMinutes={minutes})")
        detail = {} if minutes is None else {"olderThanMinutes": minutes}
        self._route("orderflow.scheduler", "Stale Order Sweep Requested", detail, copies=1)

    # --- the run -------------------------------------------------------------------------------
    def _seed_catalogue(self) -> None:
        from shared.repositories.inventory import product_item  # services/ is on the path once cloud is imported

        table = self.cloud.table("inventory")
        for pid, (stock, price) in self.plan.products.items():
            table.put_item(Item=product_item(pid, stock, price=price))

    def _run_actors(self) -> None:
        while self.actors:
            self.outcome.steps += 1
            if self.outcome.steps > MAX_STEPS:
                self.outcome.violations.append(f"no quiescence after {MAX_STEPS} steps (a livelock?)")
                return
            due = [a for a in self.actors if a.wake_at <= self.clock]
            if not due:
                self._tick(min(a.wake_at for a in self.actors) - self.clock)
                continue
            actor = self.rng.choice(due)
            self._current = actor
            try:
                next(actor.steps)
            except StopIteration:
                self.actors.remove(actor)
            self.deliver_bus()
            self._tick(self.rng.uniform(0.001, 0.05))

    def run(self) -> Outcome:
        self.cloud.reset()
        self.cloud.order_ids = random.Random(self.rng.getrandbits(64))  # new order ids follow the seed
        self._seed_catalogue()
        os.environ["PAYMENT_FAULT_RATE"] = str(self.plan.gateway_fault_rate)
        os.environ["PAYMENT_FAULT_SEED"] = str(self.seed)
        for index, order in enumerate(self.plan.orders):
            self.spawn(f"create#{index}", self._create(order), delay=self.rng.uniform(0, 1))
        if self.plan.restock:
            product, quantity, delay = self.plan.restock
            self.spawn("restock", self._restock(product, quantity), delay=delay)
        if self.plan.sweep_after is not None:
            self.spawn("sweep", self._sweep(0), delay=self.plan.sweep_after)
        self._run_actors()
        os.environ["PAYMENT_FAULT_RATE"] = "0"  # the gateway recovers; quiescence must converge
        self.faults_left = 0
        self.quiescent = True
        # quiescence: scheduled sweeps, first after the outbox grace period (it republishes and resumes what a
        # crash left), then past the stale threshold (anything it must expire was stranded)
        for round_ in range(QUIESCENCE_SWEEPS):
            if self.outcome.violations or self._settled():
                break
            self._tick(SWEEP_PERIOD_SECONDS if round_ == 0 else STALE_JUMP_SECONDS)
            self.spawn("quiescence-sweep", self._sweep(None))
            self._run_actors()
        return self.outcome

    def _settled(self) -> bool:
        live = {"PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"}
        orders = self.cloud.scan("orders")
        return not self.cloud.scan("outbox") and not any(o["status"] in live for o in orders)


def run_schedule(cloud: SimCloud, seed: int, check: Callable[[SimCloud, Outcome], list[str]]) -> Outcome:
    outcome = Schedule(cloud, seed).run()
    if not outcome.violations:
        outcome.violations.extend(check(cloud, outcome))
    return outcome
