"""Inventory-management workflow (restock, stale-order sweep), every branch, with mocked task responses.

The sweep pages: FindStaleOrders answers one page of ids and a nextToken; the loop runs while there is a next page,
at most 5 pages a run (`SweepTwoPages`, `SweepPageBound`).

MiniStack records no state events inside Map iterations, so an item's path shows in the Maps' results
(`$.expiredResults`, `$.resumedResults`) and the summary. Items of one Map run concurrently: a test case gives
all items of one Map the same outcome, or has one item per Map (the two Maps run one after the other, so the
mocked finalize answers "0" and "1" go to the expired and then the resumed order).
"""

from __future__ import annotations

from typing import Any

import pytest
from workflow_harness import eventbridge_event, start_and_wait, untaken_transitions

RESTOCKED = eventbridge_event(
    "Inventory Restocked",
    "inventory.admin",
    {"eventId": "restock-1", "productId": "prod-1", "quantity": 5, "price": "21.50"},
)
SWEEP = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {})
SWEEP_15 = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {"olderThanMinutes": 15})
# MiniStack 1.5.33's scheduler ignores the configured source/detail-type: the default branch must sweep too
SCHEDULED = {**eventbridge_event("Scheduled Event", "aws.scheduler", {}), "resources": ["arn:schedule"]}
RETRIED = 8  # 1 attempt + MaxAttempts 7 of ${LambdaRetry}

PAGE = [
    "FindStaleOrders",
    "ExpireStaleOrders",
    "ResumeFinalizations",
    "CollectOutcomes",
    "MergeOutcomes",
    "AccumulateOutcomes",
    "CheckMorePages",
]
SWEEP_PATH = ["RouteEvent", "ChooseSweepThreshold", "UseDefaultThreshold", *PAGE, "Summarize", "CheckSweepOutcome"]
REQUESTED_PATH = SWEEP_PATH[:2] + ["UseRequestedThreshold"] + SWEEP_PATH[3:]
TWO_PAGES_PATH = SWEEP_PATH[:3] + PAGE * 2 + ["Summarize", "CheckSweepOutcome"]
FIVE_PAGES_PATH = SWEEP_PATH[:3] + PAGE * 5 + ["Summarize", "CheckSweepOutcome"]


def summary(
    expired=(), skipped=(), resumed=(), failed_expired=(), failed_resumed=(), republished=0, pages=1, next_token=None
) -> dict:
    return {
        "expired": len(expired),
        "skipped": len(skipped),
        "resumed": len(resumed),
        "failed": len(failed_expired) + len(failed_resumed),
        "republished": republished,
        "pages": pages,
        "nextToken": next_token,
        "expiredOrderIds": list(expired),
        "skippedOrderIds": list(skipped),
        "resumedOrderIds": list(resumed),
        "failedExpiredIds": list(failed_expired),
        "failedResumedIds": list(failed_resumed),
    }


def incomplete(failed_expired=(), failed_resumed=()) -> str:
    return (
        f"Sweep: {len(failed_expired) + len(failed_resumed)} order(s) failed and stay for the next sweep: "
        f"expiring {list_text(failed_expired)}, resuming {list_text(failed_resumed)}"
    )


def list_text(ids) -> str:  # States.JsonToString of a list of strings
    return "[" + ",".join(f'"{i}"' for i in ids) + "]"


CASES: dict[str, tuple[dict, list[str], Any, str | None, str | None, list[str]]] = {
    # case: (event, visited, output (SUCCEEDED) or summary (SweepIncomplete), error, cause, task failures)
    "Restock": (
        RESTOCKED,
        ["RouteEvent", "RestockProduct", "Restocked"],
        {"status": "RESTOCKED", "available": 15},
        None,
        None,
        [],
    ),
    "RestockDuplicate": (
        RESTOCKED,
        ["RouteEvent", "RestockProduct", "Restocked"],
        {"status": "DUPLICATE", "available": 15},
        None,
        None,
        [],
    ),
    "RestockFails": (
        RESTOCKED,
        ["RouteEvent", "RestockProduct", "RestockFailed"],
        None,
        "RestockFailed",
        "Restocking failed after retries; the event can be put again (idempotent per eventId).",
        ["Lambda.ServiceException"] * RETRIED,
    ),
    "SweepNothing": (SWEEP_15, REQUESTED_PATH + ["SweepDone"], summary(), None, None, []),
    "SweepExpiredAndResumed": (
        SWEEP,
        SWEEP_PATH + ["SweepDone"],
        summary(expired=["ord-3001"], resumed=["ord-3002"], republished=1),
        None,
        None,
        [],
    ),
    # both orders moved on after the query saw them (their workflows won): the claims refuse, nothing is finalized
    "SweepSkipped": (SWEEP, SWEEP_PATH + ["SweepDone"], summary(skipped=["ord-3001", "ord-3004"]), None, None, []),
    "SweepItemsFailed": (
        SWEEP,
        SWEEP_PATH + ["SweepIncomplete"],
        summary(failed_expired=["ord-3001"], failed_resumed=["ord-3002"]),
        "StaleOrderSweepIncomplete",
        incomplete(["ord-3001"], ["ord-3002"]),
        ["Lambda.ServiceException"] * RETRIED + ["NotificationConflict"] * RETRIED,
    ),
    "SweepFinalizeNotCompensable": (
        SWEEP,
        SWEEP_PATH + ["SweepIncomplete"],
        summary(failed_expired=["ord-3001"]),
        "StaleOrderSweepIncomplete",
        incomplete(["ord-3001"]),
        [],
    ),
    # page 1 (ord-3001, 2 republished) then page 2 (ord-3004, no token): both claims refused, outcomes of both pages
    "SweepTwoPages": (
        SWEEP,
        TWO_PAGES_PATH + ["SweepDone"],
        summary(skipped=["ord-3001", "ord-3004"], republished=2, pages=2),
        None,
        None,
        [],
    ),
    # every page has a next one: the run stops after 5 pages and reports where the next run could go on
    "SweepPageBound": (
        SWEEP,
        FIVE_PAGES_PATH + ["SweepDone"],
        summary(pages=5, next_token="token-more"),
        None,
        None,
        [],
    ),
    "SweepQueryFails": (
        SWEEP,
        SWEEP_PATH[:4] + ["SweepFailed"],
        None,
        "StaleOrderSweepFailed",
        "Finding stale orders failed after retries; the next scheduled sweep tries again.",
        ["TransientAwsError"] * RETRIED,
    ),
}
#: the Maps' results: which item took which end state
ITEM_RESULTS = {
    "SweepNothing": ([], []),
    "SweepExpiredAndResumed": ([{"expired": ["ord-3001"]}], [{"resumed": ["ord-3002"]}]),
    "SweepSkipped": ([{"skipped": ["ord-3001"]}, {"skipped": ["ord-3004"]}], []),
    "SweepItemsFailed": ([{"failed": ["ord-3001"]}], [{"failed": ["ord-3002"]}]),
    "SweepFinalizeNotCompensable": ([{"failed": ["ord-3001"]}], []),
    "SweepTwoPages": ([{"skipped": ["ord-3001"]}], []),  # the first page's
}


def test_every_mocked_case_is_tested(mock_config):
    assert set(mock_config["StateMachines"]["InventoryManagementTest"]["TestCases"]) == set(CASES)


def test_the_cases_take_every_transition(mocked_definitions):
    assert untaken_transitions(mocked_definitions["inventory-management"], [c[1] for c in CASES.values()]) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_inventory_management_branch(sfn, mock_machines, case):
    event, visited, data, error, cause, failures = CASES[case]
    execution = start_and_wait(sfn, mock_machines["inventory-management"], event, test_case=case)

    assert execution.visited == visited
    assert execution.task_failures() == failures
    if error is None:
        assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
        assert execution.output == data
    else:
        assert execution.status == "FAILED"
        assert (execution.error, execution.cause) == (error, cause)
        if data is not None:
            assert execution.entered_input(visited[-1])["summary"] == data
    if case in ITEM_RESULTS:
        collected = execution.entered_input("CollectOutcomes")
        assert (collected["expiredResults"], collected["resumedResults"]) == ITEM_RESULTS[case]


def test_restock_passes_the_whole_event(sfn, mock_machines):
    """The Lambda gets the event as it came (its detail's optional price included): the task adds nothing."""
    execution = start_and_wait(sfn, mock_machines["inventory-management"], RESTOCKED, test_case="Restock")
    assert execution.entered_input("RestockProduct") == RESTOCKED
    assert execution.exit_output("RestockProduct") == {**RESTOCKED, "restock": {"status": "RESTOCKED", "available": 15}}


@pytest.mark.parametrize("event", [SWEEP, SCHEDULED], ids=["sweep-requested", "scheduled-event"])
def test_both_sweep_triggers_sweep_with_the_default_threshold(sfn, mock_machines, event):
    execution = start_and_wait(sfn, mock_machines["inventory-management"], event, test_case="SweepExpiredAndResumed")
    assert execution.status == "SUCCEEDED"
    assert execution.visited == SWEEP_PATH + ["SweepDone"]
    assert execution.entered_input("FindStaleOrders")["sweep"] == {
        "olderThanMinutes": None,
        "nextToken": None,
        "page": 0,
    }
    assert execution.output == summary(expired=["ord-3001"], resumed=["ord-3002"], republished=1)


def test_sweep_threshold_from_the_event(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["inventory-management"], SWEEP_15, test_case="SweepNothing")
    assert execution.entered_input("FindStaleOrders")["sweep"] == {"olderThanMinutes": 15, "nextToken": None, "page": 0}


def test_the_next_page_asks_with_the_token_and_the_outcomes_add_up(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["inventory-management"], SWEEP, test_case="SweepTwoPages")
    assert execution.status == "SUCCEEDED"
    entered = [
        data
        for kind, name, data in execution.state_data()
        if name == "FindStaleOrders" and kind.endswith("StateEntered")
    ]
    assert [e["sweep"] for e in entered] == [
        {"olderThanMinutes": None, "nextToken": None, "page": 0},
        {"olderThanMinutes": None, "nextToken": "token-page-2", "page": 1},
    ]
    assert entered[1]["outcomes"] == {
        "expiredOrderIds": [],
        "skippedOrderIds": ["ord-3001"],
        "resumedOrderIds": [],
        "failedExpiredIds": [],
        "failedResumedIds": [],
        "republished": 2,
    }
