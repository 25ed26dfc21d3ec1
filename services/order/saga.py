"""The order service's workflow actions: claim and sweep orders (docs/architecture.md).

Every status write of the workflows goes through shared.repositories.orders, so the lifecycle (shared.lifecycle) has
one writer. Two of order-processing's writes need no Lambda round trip and are rendered from that module into DynamoDB
integrations: OwnOrder (records the execution that owns the order, OWN_*) and CompleteOrder (INVENTORY_RESERVED ->
COMPLETED for the owning execution, queuing "Order Completed": `completion_write`, a TransactWriteItems).
- `claim`    a compensating path takes the order to CANCELLED / FAILED / EXPIRED; only a claimer compensates
             (the finalize fragment of the workflows). A retry by the same claimer is still the claimer.
- `sweep`    what the stale-order sweep must do, one page at a time: the ids of stale live orders to expire (from
             the sharded Live-Index, with a continuation token), and on the first page the finalize duties to resume
             and the outbox events it republishes itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from shared import clock, observability, outbox
from shared.config import config
from shared.errors import EventPublishError, IllegalTransition, InvalidTaskInput, OrderNotFound
from shared.lifecycle import OrderStatus, claim_of, is_terminal
from shared.models import is_valid_id, order_summary, parse_order_ref
from shared.repositories import OrdersRepository
from shared.repositories.orders import LIVE_SHARDS

logger = Logger(child=True)
orders = OrdersRepository()

#: claim targets a workflow may ask for (COMPLETED and PAYMENT_FAILED have their own writers)
CLAIM_TARGETS = frozenset({OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.EXPIRED})
#: the request kinds `claim` distinguishes (a refund request of a COMPLETED order is refused and recorded)
REFUND_REQUEST = "refund"
REFUND_REFUSED_REASON = "order COMPLETED: its goods are reserved for delivery; a refund needs a return"
#: stale order ids per find_stale page (the sweep workflow asks for 25: its history bound, docs/architecture.md)
DEFAULT_SWEEP_LIMIT = 25
MAX_SWEEP_LIMIT = 1000
#: outbox entries one sweep run reads, and finalize duties it resumes (each carries its order: bounded payload)
OUTBOX_LIMIT = 100
RESUME_LIMIT = 25
#: the continuation token's fields (a base64url JSON object)
_CURSOR_FIELDS = frozenset({"cutoff", "start", "visited", "after"})
_AFTER_FIELDS = frozenset({"orderId", "customerId", "liveShard", "updatedAt"})
MAX_TOKEN_LENGTH = 512


def _token(raw: Any, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_TOKEN_LENGTH:
        raise InvalidTaskInput(f"{what} is required (a string of at most {MAX_TOKEN_LENGTH} characters)")
    return raw


def _stored(order_input: Any) -> dict[str, Any]:
    ref = parse_order_ref(order_input)
    observability.bind_order(ref.order_id, customerId=ref.customer_id)
    order = orders.get(ref.order_id, ref.customer_id)
    if order is None or order["customerId"] != ref.customer_id:
        raise OrderNotFound(ref.order_id)
    return order


def _answer(order: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**fields, "orderStatus": order["status"], "order": order_summary(order), "claim": claim_of(order)}


# ---------------------------------------------------------------------------------------------
# claim: the compensating paths
# ---------------------------------------------------------------------------------------------
def claim(event: dict[str, Any]) -> dict[str, Any]:
    """`{"action":"claim","order":{orderId,customerId},"target":"CANCELLED"|"FAILED"|"EXPIRED","by":str,
    "reason":str,"request":"refund"?,"unchangedSince":iso?}` -> `{"claimed": bool, "orderStatus", "order", "claim",
    "refused": str|null}`.

    `unchangedSince` (the sweep): claim only if the order was not updated after that time.
    """
    target_raw = event.get("target")
    if target_raw not in CLAIM_TARGETS:
        raise InvalidTaskInput(f"target must be one of {sorted(t.value for t in CLAIM_TARGETS)}, got {target_raw!r}")
    target = OrderStatus(target_raw)
    by = _token(event.get("by"), "by")
    reason = str(event.get("reason") or f"claimed {target.value.lower()}")[:256]
    order = _stored(event.get("order"))
    condition = None
    unchanged_since = event.get("unchangedSince")
    if unchanged_since is not None:
        condition = ("updatedAt = :seen", {}, {":seen": _token(unchanged_since, "unchangedSince")})
    try:
        order = orders.transition(
            order["orderId"], order["customerId"], target, reason, extra_condition=condition, claim_by=by
        )
    except IllegalTransition as exc:
        current = exc.order or orders.require(order["orderId"], order["customerId"])
        refused = None
        if event.get("request") == REFUND_REQUEST and current["status"] == OrderStatus.COMPLETED:
            refused = REFUND_REFUSED_REASON
            orders.update_attributes(
                current["orderId"],
                current["customerId"],
                set_={"refundRefusal": {"at": clock.now_iso(), "by": by, "reason": refused}},
            )
            observability.count("RefundRequestsRefused")
        logger.info("claim refused", extra={"target": target, "status": current["status"], "refused": refused})
        return _answer(current, claimed=False, refused=refused)
    observability.count(f"Orders{target.value.title()}")
    return _answer(order, claimed=True, refused=None)


# ---------------------------------------------------------------------------------------------
# sweep
# ---------------------------------------------------------------------------------------------
def _int_arg(event: dict[str, Any], name: str, default: int, minimum: int, maximum: int) -> int:
    value = event.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidTaskInput(f"{name} must be an integer or null, got {value!r}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise InvalidTaskInput(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def start_shard(now_iso: str) -> int:
    """The Live-Index shard a sweep run starts at: sha256 of the run's time mod LIVE_SHARDS, so successive runs start
    at different shards and orders a run could not expire do not hold back the same others every time."""
    return int(hashlib.sha256(now_iso.encode()).hexdigest(), 16) % LIVE_SHARDS


def _encode_cursor(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, sort_keys=True, separators=(",", ":")).encode()).decode()


def _decode_cursor(raw: Any) -> dict[str, Any]:
    text = _token(raw, "nextToken")
    invalid = InvalidTaskInput("nextToken is not a continuation token of find_stale")
    try:
        cursor = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, binascii.Error):
        raise invalid from None
    if not isinstance(cursor, dict) or set(cursor) != _CURSOR_FIELDS or not isinstance(cursor["cutoff"], str):
        raise invalid
    for name in ("start", "visited"):
        value = cursor[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < LIVE_SHARDS:
            raise invalid
    after = cursor["after"]
    if after is not None and (
        not isinstance(after, dict)
        or set(after) != _AFTER_FIELDS
        or not all(isinstance(v, str) for v in after.values())
    ):
        raise invalid
    return cursor


def _stale_page(cursor: dict[str, Any], limit: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `limit` stale live orders, shard after shard from the cursor (each oldest first); the next cursor or
    None when every shard was read to the end."""
    page: list[dict[str, Any]] = []
    visited, after = cursor["visited"], cursor["after"]
    while visited < LIVE_SHARDS and len(page) < limit:
        shard = (cursor["start"] + visited) % LIVE_SHARDS
        items, last = orders.live_updated_before(shard, cursor["cutoff"], limit - len(page), after)
        page.extend(items)
        if last:
            after = last
        else:
            visited, after = visited + 1, None
    if visited == LIVE_SHARDS:
        return page, None
    return page, {"cutoff": cursor["cutoff"], "start": cursor["start"], "visited": visited, "after": after}


def _outbox_work(now: Any) -> tuple[list[dict[str, Any]], int]:
    """Republish outbox events older than the grace period; the finalize duties to resume (at most RESUME_LIMIT)."""
    due = outbox.due(clock.iso(now - timedelta(seconds=config.outbox_grace_seconds)), OUTBOX_LIMIT)
    republished = 0
    resume: list[dict[str, Any]] = []
    for entry in due:
        if entry["kind"] == outbox.EVENT:
            try:
                republished += outbox.publish([entry])
            except EventPublishError:  # stays in the outbox for the next sweep
                logger.warning("republish failed", extra={"eventId": entry["id"]})
            continue
        if len(resume) == RESUME_LIMIT:  # left for the next run
            continue
        order = orders.get(entry["orderId"], entry["customerId"])
        if order is None or not is_terminal(order.get("status")) or not is_valid_id(order.get("customerId")):
            logger.warning("finalize duty without a terminal order", extra={"entry": entry["id"]})
            continue
        resume.append({"order": order_summary(order), "claim": claim_of(order)})
    return resume, republished


def sweep(event: dict[str, Any]) -> dict[str, Any]:
    """`{"action":"find_stale","olderThanMinutes":n|null,"limit":n?,"nextToken":str|null}` ->
    `{"orders": [{orderId, customerId, unchangedSince}], "nextToken": str|null, "resume": [...], "republished": n}`.

    - orders: one page (at most `limit`, default 25) of the live orders not updated for olderThanMinutes (null:
      STALE_ORDER_MINUTES), ids only, each with the `updatedAt` the claim must still find (`unchangedSince`); read
      from Live-Index shard after shard, starting at `start_shard(now)`, each shard oldest first;
    - nextToken: where the next page starts (null: every shard was read); it carries the first page's cutoff, so
      olderThanMinutes is not read with a token;
    - resume (first page only): terminal orders whose finalize duty is older than OUTBOX_GRACE_SECONDS (their
      claimer did not finish), at most RESUME_LIMIT;
    - republished (first page only): outbox events older than the grace period, published now.
    """
    minutes = _int_arg(event, "olderThanMinutes", config.stale_order_minutes, 0, 525_600)
    limit = _int_arg(event, "limit", DEFAULT_SWEEP_LIMIT, 1, MAX_SWEEP_LIMIT)
    now = clock.utc_now()
    first = event.get("nextToken") is None
    if first:
        cursor = {
            "cutoff": clock.iso(now - timedelta(minutes=minutes)),
            "start": start_shard(clock.iso(now)),
            "visited": 0,
            "after": None,
        }
        resume, republished = _outbox_work(now)
    else:
        cursor = _decode_cursor(event["nextToken"])
        resume, republished = [], 0
    stale, next_cursor = _stale_page(cursor, limit)
    observability.count("StaleOrdersFound", len(stale))
    logger.info(
        "sweep",
        extra={"stale": len(stale), "resume": len(resume), "republished": republished, "more": next_cursor is not None},
    )
    return {
        "orders": [
            {"orderId": o["orderId"], "customerId": o["customerId"], "unchangedSince": o["updatedAt"]} for o in stale
        ],
        "nextToken": None if next_cursor is None else _encode_cursor(next_cursor),
        "resume": resume,
        "republished": republished,
    }
