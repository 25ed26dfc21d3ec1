"""Inventory Lambda: all-or-nothing reserve, exactly-once release, idempotent restock, concurrency."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from inventory import handler, service
from shared import aws as shared_aws
from shared.errors import InvalidTaskInput, InventoryContention, OrderNotFound, TransientAwsError, UnsupportedEvent

from .helpers import expected_event_id, get_order, order_input, put_order

LIVE = ["PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"]
COMPENSABLE = ["PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"]


def claim(order, target="CANCELLED", by="exec-1"):
    """Claim the order for compensation, as the saga / a customer cancel does."""
    return service.orders.transition(order["orderId"], order["customerId"], target, "claimed", claim_by=by)


def reserve_event(order):
    return {"action": "reserve", "order": order_input(order)}


def release_event(order):
    return {"action": "release", "order": order_input(order)}


def stock(cloud, product_id):
    item = cloud.product(product_id)
    return int(item["available"]), int(item.get("reserved", 0))


@pytest.fixture
def products(cloud):
    cloud.put_product("prod-1", 10)
    cloud.put_product("prod-2", 3)


def cancelled_transaction(*codes):
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


# ---------------------------------------------------------------------------------------------
# reserve
# ---------------------------------------------------------------------------------------------
def test_reserve_all_items(cloud, products, lambda_context, capsys):
    order = put_order("PAID")

    result = handler.lambda_handler(reserve_event(order), lambda_context)

    assert result == {"status": "RESERVED", "shortItems": []}
    assert stock(cloud, "prod-1") == (8, 2)
    assert stock(cloud, "prod-2") == (2, 1)
    [reservation] = cloud.items("RESERVATIONS_TABLE")
    assert reservation["status"] == "RESERVED"
    assert reservation["items"] == [{"productId": "prod-1", "quantity": 2}, {"productId": "prod-2", "quantity": 1}]
    stored = get_order(order["orderId"])
    assert stored["status"] == "INVENTORY_RESERVED"
    assert stored["statusHistory"][-1]["status"] == "INVENTORY_RESERVED"
    assert stored["version"] == 2
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("inventory.service", "Inventory Reserved")
    assert event["detail"] == {
        "eventId": expected_event_id(order["orderId"], "Inventory Reserved"),
        "orderId": order["orderId"],
        "customerId": "customer-1",
        "items": [{"productId": "prod-1", "quantity": 2}, {"productId": "prod-2", "quantity": 1}],
    }
    assert '"InventoryReserved":[1.0]' in capsys.readouterr().out


def test_reserve_is_all_or_nothing_when_one_item_is_short(cloud, lambda_context, capsys):
    cloud.put_product("prod-1", 10)
    cloud.put_product("prod-2", 0)
    order = put_order("PAID")

    result = handler.lambda_handler(reserve_event(order), lambda_context)

    short = [{"productId": "prod-2", "requested": 1, "available": 0}]
    assert result == {"status": "UNAVAILABLE", "shortItems": short}
    assert stock(cloud, "prod-1") == (10, 0)  # nothing taken from the available product either
    assert stock(cloud, "prod-2") == (0, 0)
    assert cloud.items("RESERVATIONS_TABLE") == []
    stored = get_order(order["orderId"])
    assert stored["status"] == "INVENTORY_UNAVAILABLE"
    assert stored["shortItems"] == [{"productId": "prod-2", "requested": 1, "available": 0}]
    [event] = cloud.events()
    assert event["detail-type"] == "Inventory Unavailable"
    assert event["detail"]["shortItems"] == short
    assert '"InventoryUnavailable":[1.0]' in capsys.readouterr().out


def test_unknown_product_is_short_with_zero_available(cloud):
    cloud.put_product("prod-1", 1)
    order = put_order("PAID")
    result = service.reserve(order_input(order))
    assert result["status"] == "UNAVAILABLE"
    assert result["shortItems"] == [
        {"productId": "prod-1", "requested": 2, "available": 1},
        {"productId": "prod-2", "requested": 1, "available": 0},
    ]


def test_duplicate_reservation_is_one_reservation(cloud, products, lambda_context):
    order = put_order("PAID")
    first = handler.lambda_handler(reserve_event(order), lambda_context)
    second = handler.lambda_handler(reserve_event(order), lambda_context)
    assert first == second == {"status": "RESERVED", "shortItems": []}
    assert stock(cloud, "prod-1") == (8, 2)
    assert len(cloud.items("RESERVATIONS_TABLE")) == 1
    assert len({e["detail"]["eventId"] for e in cloud.events("Inventory Reserved")}) == 1
    # still RESERVED after the order moved on (e.g. COMPLETED by the workflow)
    service.orders.transition(order["orderId"], "customer-1", "COMPLETED", "done", claim_by="exec-1")
    assert service.reserve(order_input(order))["status"] == "RESERVED"
    assert stock(cloud, "prod-1") == (8, 2)


def test_duplicate_unavailable_returns_the_recorded_short_items(cloud):
    cloud.put_product("prod-1", 0)
    cloud.put_product("prod-2", 0)
    order = put_order("PAID")
    first = service.reserve(order_input(order))
    cloud.put_product("prod-1", 100)  # restocked meanwhile: the recorded answer does not change
    second = service.reserve(order_input(order))
    assert first == second and first["status"] == "UNAVAILABLE"
    assert cloud.items("RESERVATIONS_TABLE") == []


@pytest.mark.parametrize(
    "status", ["PENDING", "INVENTORY_RESERVED", "COMPLETED", "CANCELLED", "EXPIRED", "FAILED", "PAYMENT_FAILED"]
)
def test_order_not_paid_is_not_reservable(cloud, products, status):
    order = put_order(status)
    assert service.reserve(order_input(order)) == {"status": "ORDER_NOT_RESERVABLE", "shortItems": []}
    assert stock(cloud, "prod-1") == (10, 0)
    assert cloud.items("RESERVATIONS_TABLE") == [] and cloud.events() == []
    assert get_order(order["orderId"])["status"] == status


def test_customer_cancel_between_read_and_transaction(cloud, products, monkeypatch):
    order = put_order("PAID")
    real_get = service.orders.get
    calls = []

    def stale_get(order_id, customer_id=None):
        calls.append(order_id)
        current = real_get(order_id, customer_id)
        if len(calls) == 1:  # we read PAID, then the customer cancels before our transaction
            service.orders.transition(
                order_id, "customer-1", "CANCELLED", "customer cancel", claim_by=f"cancel:{order_id}"
            )
        return current

    monkeypatch.setattr(service.orders, "get", stale_get)
    assert service.reserve(order_input(order))["status"] == "ORDER_NOT_RESERVABLE"
    assert stock(cloud, "prod-1") == (10, 0)  # the transaction refused: nothing reserved
    assert get_order(order["orderId"])["status"] == "CANCELLED"


def test_reservation_created_concurrently_is_reported_reserved(cloud, products, monkeypatch):
    order = put_order("PAID")
    real_get = service.reservations.get
    calls = []

    def racing_get(order_id):
        calls.append(order_id)
        if len(calls) == 1:  # another invocation reserves right after our check
            assert service._try_reserve(real_order(order_id), {"prod-1": 2, "prod-2": 1})["status"] == "RESERVED"
            return None
        return real_get(order_id)

    def real_order(order_id):
        return get_order(order_id)

    monkeypatch.setattr(service.reservations, "get", racing_get)
    assert service.reserve(order_input(order)) == {"status": "RESERVED", "shortItems": []}
    assert stock(cloud, "prod-1") == (8, 2)


def test_released_reservation_is_not_reserved_again(cloud, products):
    order = put_order("PAID")
    service.reserve(order_input(order))
    claim(order)
    assert service.release(order_input(order)) == {"status": "RELEASED"}
    assert service.reserve(order_input(order))["status"] == "ORDER_NOT_RESERVABLE"
    assert stock(cloud, "prod-1") == (10, 0)


def test_persistent_transaction_conflicts_raise_retryable(cloud, products, monkeypatch):
    order = put_order("PAID")
    client = shared_aws.dynamodb_client()

    def conflict(**kwargs):
        raise cancelled_transaction("None", "TransactionConflict", "None", "None")

    monkeypatch.setattr(client, "transact_write_items", conflict)
    with pytest.raises(InventoryContention):
        service.reserve(order_input(order))


def test_other_dynamodb_errors_propagate(cloud, products, monkeypatch, lambda_context):
    order = put_order("PAID")
    client = shared_aws.dynamodb_client()

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "TransactWriteItems")

    monkeypatch.setattr(client, "transact_write_items", throttled)
    with pytest.raises(ClientError):
        service.reserve(order_input(order))
    with pytest.raises(TransientAwsError):  # the handler names it for the workflows' retry
        handler.lambda_handler(reserve_event(order), lambda_context)
    claimed = put_order("CANCELLED", claim={"by": "exec-1", "status": "CANCELLED", "at": "2024-01-01T00:00:00.000Z"})
    service.reservations._table.put_item(Item={"orderId": claimed["orderId"], "status": "RESERVED", "items": []})
    with pytest.raises(ClientError):
        service.release(order_input(claimed))
    with pytest.raises(TransientAwsError):
        handler.lambda_handler(release_event(claimed), lambda_context)
    assert stock(cloud, "prod-1") == (10, 0)


def test_stock_returning_meanwhile_retries_the_transaction(cloud, monkeypatch):
    cloud.put_product("prod-1", 1)
    cloud.put_product("prod-2", 5)
    order = put_order("PAID")
    real_available = service.inventory.available
    calls = []

    def restocked_meanwhile(product_ids):
        calls.append(1)
        if len(calls) == 1:
            cloud.put_product("prod-1", 5)  # a restock landed between the failed transaction and our read
        return real_available(product_ids)

    monkeypatch.setattr(service.inventory, "available", restocked_meanwhile)
    assert service.reserve(order_input(order))["status"] == "RESERVED"
    assert stock(cloud, "prod-1") == (3, 2)


def test_order_changed_while_marking_unavailable(cloud, monkeypatch):
    cloud.put_product("prod-1", 0)
    cloud.put_product("prod-2", 0)
    order = put_order("PAID")
    real_available = service.inventory.available

    def cancel_then_read(product_ids):
        claim(order, by=f"cancel:{order['orderId']}")
        return real_available(product_ids)

    monkeypatch.setattr(service.inventory, "available", cancel_then_read)
    assert service.reserve(order_input(order))["status"] == "ORDER_NOT_RESERVABLE"


def test_reserve_unknown_order(cloud):
    with pytest.raises(OrderNotFound):
        service.reserve({"orderId": "nope", "customerId": "customer-1"})


# ---------------------------------------------------------------------------------------------
# concurrency: 20 threads for the last 5 units
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stock_units", "per_order", "threads"), [(5, 1, 20), (5, 2, 12)])
def test_concurrent_reservations_never_oversell(cloud, serialized_dynamodb, stock_units, per_order, threads):
    cloud.put_product("last-units", stock_units)
    orders = [
        put_order(
            "PAID",
            items=[{"productId": "last-units", "quantity": per_order, "price": Decimal("1.00")}],
            total=str(per_order),
        )
        for _ in range(threads)
    ]
    results: list[dict] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker(order):
        barrier.wait()  # start together
        try:
            results.append(service.reserve(order_input(order)))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(o,)) for o in orders]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    assert errors == []
    winners = stock_units // per_order
    reserved = [r for r in results if r["status"] == "RESERVED"]
    unavailable = [r for r in results if r["status"] == "UNAVAILABLE"]
    assert len(reserved) == winners
    assert len(unavailable) == threads - winners
    available, reserved_units = stock(cloud, "last-units")
    assert available == stock_units - winners * per_order >= 0
    assert reserved_units == winners * per_order
    assert len(cloud.items("RESERVATIONS_TABLE")) == winners
    statuses = [get_order(o["orderId"])["status"] for o in orders]
    assert statuses.count("INVENTORY_RESERVED") == winners
    assert statuses.count("INVENTORY_UNAVAILABLE") == threads - winners


# ---------------------------------------------------------------------------------------------
# release
# ---------------------------------------------------------------------------------------------
def test_release_restores_stock_exactly_once(cloud, products, lambda_context, capsys):
    order = put_order("PAID")
    service.reserve(order_input(order))
    claim(order)
    capsys.readouterr()

    first = handler.lambda_handler(release_event(order), lambda_context)
    second = handler.lambda_handler(release_event(order), lambda_context)

    assert first == {"status": "RELEASED"}
    assert second == {"status": "RELEASED"}  # a repeat answers as the first call (the state), and changes nothing
    assert stock(cloud, "prod-1") == (10, 0)
    assert stock(cloud, "prod-2") == (3, 0)
    [reservation] = cloud.items("RESERVATIONS_TABLE")
    assert reservation["status"] == "RELEASED" and "releasedAt" in reservation
    released = cloud.events("Inventory Released")
    assert {e["detail"]["eventId"] for e in released} == {expected_event_id(order["orderId"], "Inventory Released")}
    assert released[0]["detail"]["items"] == [
        {"productId": "prod-1", "quantity": 2},
        {"productId": "prod-2", "quantity": 1},
    ]
    assert capsys.readouterr().out.count('"InventoryReleased":[1.0]') == 1


@pytest.mark.parametrize("status", LIVE + ["COMPLETED"])
def test_release_refused_unless_the_order_is_claimed(cloud, products, lambda_context, status):
    order = put_order("PAID")
    service.reserve(order_input(order))
    order = put_order(status, order_id=order["orderId"])  # reserved, but not claimed for compensation
    reservation = service.reservations.get(order["orderId"])
    cloud.events()  # drain the reserve's event
    published = len(cloud.events())

    assert handler.lambda_handler(release_event(order), lambda_context) == {"status": "NOT_COMPENSABLE"}

    assert stock(cloud, "prod-1") == (8, 2) and stock(cloud, "prod-2") == (2, 1)
    assert service.reservations.get(order["orderId"]) == reservation and reservation["status"] == "RESERVED"
    assert len(cloud.events()) == published
    assert get_order(order["orderId"]) == order


@pytest.mark.parametrize("status", COMPENSABLE)
def test_release_of_a_claimed_order_gives_the_stock_back_once(cloud, products, status):
    order = put_order("PAID")
    service.reserve(order_input(order))
    # PAYMENT_FAILED is only entered from PENDING: write the claimed order as the payment service leaves it
    put_order(
        status, order_id=order["orderId"], claim={"by": "exec-1", "status": status, "at": "2024-01-01T00:00:00.000Z"}
    )

    assert service.release(order_input(order)) == {"status": "RELEASED"}
    assert service.release(order_input(order)) == {"status": "RELEASED"}
    assert service.release(order_input(order)) == {"status": "RELEASED"}

    assert stock(cloud, "prod-1") == (10, 0) and stock(cloud, "prod-2") == (3, 0)
    assert service.reservations.get(order["orderId"])["status"] == "RELEASED"
    released = cloud.events("Inventory Released")
    assert len(released) == 3  # one per call, all the same event
    assert {e["detail"]["eventId"] for e in released} == {expected_event_id(order["orderId"], "Inventory Released")}


def test_release_of_unknown_order(cloud):
    with pytest.raises(OrderNotFound):
        service.release({"orderId": "nope", "customerId": "customer-1"})
    order = put_order("CANCELLED")
    with pytest.raises(OrderNotFound):
        service.release({"orderId": order["orderId"], "customerId": "other"})


def test_release_without_reservation(cloud, lambda_context):
    order = put_order("CANCELLED")
    assert handler.lambda_handler(release_event(order), lambda_context) == {"status": "NOT_RESERVED"}
    assert cloud.events() == []


def test_concurrent_release_is_not_double_counted(cloud, products, monkeypatch):
    order = put_order("PAID")
    service.reserve(order_input(order))
    claim(order, "FAILED")
    stale = service.reservations.get(order["orderId"])
    assert service.release(order_input(order)) == {"status": "RELEASED"}
    monkeypatch.setattr(service.reservations, "get", lambda _order_id: stale)  # we still see RESERVED

    assert service.release(order_input(order)) == {"status": "RELEASED"}
    assert stock(cloud, "prod-1") == (10, 0)


def test_release_conflict_is_retryable(cloud, products, monkeypatch):
    order = put_order("PAID")
    service.reserve(order_input(order))
    claim(order, "EXPIRED")

    def conflict(**kwargs):
        raise cancelled_transaction("None", "TransactionConflict", "None")

    monkeypatch.setattr(shared_aws.dynamodb_client(), "transact_write_items", conflict)
    with pytest.raises(InventoryContention):
        service.release(order_input(order))


# ---------------------------------------------------------------------------------------------
# restock
# ---------------------------------------------------------------------------------------------
def test_restock_action_is_idempotent_per_event_id(cloud, products, lambda_context):
    event = {"action": "restock", "productId": "prod-2", "quantity": 7, "eventId": "restock-1"}
    assert handler.lambda_handler(event, lambda_context) == {"status": "RESTOCKED", "available": 10}
    assert handler.lambda_handler(event, lambda_context) == {"status": "DUPLICATE", "available": 10}
    assert stock(cloud, "prod-2") == (10, 0)
    [marker] = cloud.items("IDEMPOTENCY_TABLE")
    assert marker["id"] == "restock#restock-1" and int(marker["expiration"]) > 0


def test_restock_from_eventbridge_event_and_new_product(cloud, lambda_context):
    event = {
        "version": "0",
        "id": "envelope-id",
        "source": "inventory.admin",
        "detail-type": "Inventory Restocked",
        "detail": {"eventId": "evt-1", "productId": "brand-new", "quantity": "4"},
    }
    assert handler.lambda_handler(event, lambda_context) == {"status": "RESTOCKED", "available": 4}
    assert cloud.product("brand-new")["name"] == "brand-new"
    replay = dict(event, id="another-envelope")
    assert handler.lambda_handler(replay, lambda_context)["status"] == "DUPLICATE"
    assert stock(cloud, "brand-new") == (4, 0)


def test_restock_event_without_event_id_uses_envelope_id(cloud, lambda_context):
    event = {"id": "env-1", "detail-type": "Inventory Restocked", "detail": {"productId": "p", "quantity": 1}}
    assert handler.lambda_handler(event, lambda_context)["status"] == "RESTOCKED"
    assert cloud.items("IDEMPOTENCY_TABLE")[0]["id"] == "restock#env-1"


@pytest.mark.parametrize(
    ("product_id", "quantity", "event_id"),
    [
        ("bad id", 1, "e"),
        ("p", 0, "e"),
        ("p", -3, "e"),
        ("p", 1.5, "e"),
        ("p", "x", "e"),
        ("p", True, "e"),
        ("p", None, "e"),
        ("p", 10_000_001, "e"),
        ("p", "nan", "e"),
        ("p", 1, ""),
        ("p", 1, None),
        ("p", 1, "x" * 300),
    ],
)
def test_restock_rejects_bad_input(cloud, product_id, quantity, event_id):
    with pytest.raises(InvalidTaskInput):
        service.restock(product_id, quantity, event_id)


def test_restock_conflict_is_retryable(cloud, monkeypatch):
    monkeypatch.setattr(
        shared_aws.dynamodb_client(),
        "transact_write_items",
        lambda **_: (_ for _ in ()).throw(cancelled_transaction("None", "TransactionConflict")),
    )
    with pytest.raises(InventoryContention):
        service.restock("p", 1, "e")


def test_endpoint_without_cancellation_reasons(cloud, monkeypatch):
    """An emulator that reports no CancellationReasons: answers come from consistent re-reads."""
    cloud.put_product("prod-1", 1)
    cloud.put_product("prod-2", 5)
    client = shared_aws.dynamodb_client()
    real = client.transact_write_items

    def reasonless(**kwargs):
        try:
            return real(**kwargs)
        except ClientError as exc:
            raise ClientError(
                {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}, "TransactWriteItems"
            ) from exc

    monkeypatch.setattr(client, "transact_write_items", reasonless)
    short = put_order("PAID")
    assert service.reserve(order_input(short))["status"] == "UNAVAILABLE"
    cloud.put_product("prod-1", 10)
    order = put_order("PAID")
    assert service.reserve(order_input(order))["status"] == "RESERVED"
    assert service.reserve(order_input(order))["status"] == "RESERVED"
    cancelled = put_order("CANCELLED")
    assert service.reserve(order_input(cancelled))["status"] == "ORDER_NOT_RESERVABLE"
    assert stock(cloud, "prod-1") == (8, 2)
    claim(order)
    stale = service.reservations.get(order["orderId"])
    assert service.release(order_input(order)) == {"status": "RELEASED"}
    real_get = service.reservations.get
    answers = [stale]  # first read is stale (RESERVED), then the real RELEASED row

    monkeypatch.setattr(service.reservations, "get", lambda oid: answers.pop() if answers else real_get(oid))
    assert service.release(order_input(order)) == {"status": "RELEASED"}
    assert stock(cloud, "prod-1") == (10, 0)
    assert service.restock("prod-9", 1, "evt-x")["status"] == "RESTOCKED"
    assert service.restock("prod-9", 1, "evt-x")["status"] == "DUPLICATE"


def test_restock_propagates_unexpected_errors(cloud, monkeypatch):
    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "TransactWriteItems")

    monkeypatch.setattr(shared_aws.dynamodb_client(), "transact_write_items", throttled)
    with pytest.raises(ClientError):
        service.restock("p", 1, "e")


@pytest.mark.parametrize(
    "event",
    [
        {"action": "count"},
        {"detail-type": "Other", "detail": {}},
        ["x"],
        {"detail-type": "Inventory Restocked", "detail": "nope"},
    ],
)
def test_unsupported_inventory_event(cloud, lambda_context, event):
    with pytest.raises(UnsupportedEvent):
        handler.lambda_handler(event, lambda_context)


def test_invalid_order_input(cloud, lambda_context):
    with pytest.raises(InvalidTaskInput):
        handler.lambda_handler({"action": "reserve", "order": {"orderId": "o1"}}, lambda_context)
