"""Inventory-management workflow (restock, stale-order sweep), every branch, with mocked task responses."""

from __future__ import annotations

import pytest

from workflow_harness import eventbridge_event, start_and_wait

RESTOCKED = eventbridge_event("Inventory Restocked", "inventory.admin",
                              {"eventId": "restock-1", "productId": "prod-1", "quantity": 5})
SWEEP = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {})
SWEEP_15 = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {"olderThanMinutes": 15})
# MiniStack 1.5.33's scheduler ignores the configured source/detail-type: the default branch must sweep too
SCHEDULED = {**eventbridge_event("Scheduled Event", "aws.scheduler", {}), "resources": ["arn:schedule"]}

SWEEP_START = ["RouteEvent", "ChooseSweepThreshold", "UseDefaultThreshold", "FindStaleOrders", "AnyStaleOrders"]
SWEEP_MAP = SWEEP_START + ["ExpireStaleOrders", "CollectOutcomes", "Summarize", "CheckSweepOutcome"]
STALE_ORDER = "ord-3001"


def summary(expired=(), skipped=(), failed=()):
    return {"expired": len(expired), "skipped": len(skipped), "failed": len(failed),
            "expiredOrderIds": list(expired), "skippedOrderIds": list(skipped), "failedOrderIds": list(failed)}


CASES = {
    # case: (event, visited, status, error, output)
    "Restock": (RESTOCKED, ["RouteEvent", "RestockProduct", "Restocked"], "SUCCEEDED", None,
                {"status": "RESTOCKED", "available": 15}),
    "RestockFails": (RESTOCKED, ["RouteEvent", "RestockProduct", "RestockFailed"], "FAILED", "RestockFailed", None),
    "SweepOneStaleOrder": (SWEEP, SWEEP_MAP + ["SweepDone"], "SUCCEEDED", None, summary(expired=[STALE_ORDER])),
    "SweepNothing": (SWEEP, SWEEP_START + ["NothingToSweep", "SweepDone"], "SUCCEEDED", None, summary()),
    "SweepOrderAlreadyFinal": (SWEEP, SWEEP_MAP + ["SweepDone"], "SUCCEEDED", None, summary(skipped=[STALE_ORDER])),
    "SweepClaimFails": (SWEEP, SWEEP_MAP + ["SweepIncomplete"], "FAILED", "StaleOrderSweepIncomplete", None),
    "SweepCompensationFails": (SWEEP, SWEEP_MAP + ["SweepIncomplete"], "FAILED", "StaleOrderSweepIncomplete", None),
    "SweepQueryFails": (SWEEP, SWEEP_START[:-1] + ["SweepFailed"], "FAILED", "StaleOrderSweepFailed", None),
}


def test_every_mocked_case_is_tested(mock_config):
    assert set(mock_config["StateMachines"]["InventoryManagementTest"]["TestCases"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_inventory_management_branch(sfn, mock_machines, case):
    event, visited, status, error, output = CASES[case]
    execution = start_and_wait(sfn, mock_machines["inventory-management"], event, test_case=case)

    assert execution.visited == visited
    assert execution.status == status, (execution.error, execution.cause)
    if status == "SUCCEEDED":
        assert execution.output == output
    else:
        assert execution.error == error


@pytest.mark.parametrize("event", [SWEEP, SCHEDULED], ids=["sweep-requested", "scheduled-event"])
def test_both_sweep_triggers_sweep(sfn, mock_machines, event):
    execution = start_and_wait(sfn, mock_machines["inventory-management"], event, test_case="SweepOneStaleOrder")
    assert execution.status == "SUCCEEDED"
    assert execution.output == summary(expired=[STALE_ORDER])


def test_sweep_threshold_from_the_event(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["inventory-management"], SWEEP_15, test_case="SweepNothing")
    assert execution.visited[:3] == ["RouteEvent", "ChooseSweepThreshold", "UseRequestedThreshold"]
    assert execution.entered_input("FindStaleOrders")["sweep"] == {"olderThanMinutes": 15}
    default = start_and_wait(sfn, mock_machines["inventory-management"], SWEEP, test_case="SweepNothing")
    assert default.entered_input("FindStaleOrders")["sweep"] == {"olderThanMinutes": None}


def test_sweep_item_outcomes(sfn, mock_machines):
    failed = start_and_wait(sfn, mock_machines["inventory-management"], SWEEP, test_case="SweepCompensationFails")
    results = failed.entered_input("CollectOutcomes")["results"]
    # the order was claimed (EXPIRED) but releasing its reservation failed after retries
    assert results == [{"expired": [STALE_ORDER], "skipped": [], "failed": [STALE_ORDER]}]
    assert '"failed":1' in failed.cause

    claim_failed = start_and_wait(sfn, mock_machines["inventory-management"], SWEEP, test_case="SweepClaimFails")
    assert claim_failed.entered_input("CollectOutcomes")["results"] == [
        {"expired": [], "skipped": [], "failed": [STALE_ORDER]}]
