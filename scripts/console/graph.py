"""The workflow graph of one execution: scripts/diagram.py's drawing of the state machine with the states the
execution visited coloured from its history (scripts/history.summarize_history).

Colours (and SVG classes, `visited <outcome>`, on each node's `<g>`):
  succeeded    entered and left without a failed attempt
  retried      a task attempt failed and a later attempt of the same visit succeeded (the state's Retry)
  failed       its last attempt failed, a Fail state, or the state the execution stopped in when it failed
  compensated  a refund or release task (the saga's compensation) that ran
States the execution did not visit are greyed (class `unvisited`).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from scripts import diagram

OUTCOMES = ("succeeded", "retried", "failed", "compensated")
#: Lambda task actions that undo an effect: the saga's compensation (workflow/fragments/finalize.asl.json).
COMPENSATING_ACTIONS = frozenset({"refund", "release"})
STYLE = {
    "succeeded": ("#bbf7d0", "#15803d"),
    "retried": ("#fde68a", "#b45309"),
    "failed": ("#fca5a5", "#b91c1c"),
    "compensated": ("#e9d5ff", "#7e22ce"),
}


def state_index(definition: dict[str, Any], scope: str = "") -> dict[str, dict[str, Any]]:
    """{state name: {"id": its node id in diagram.to_dot, "type", "action"}} for every state, Map and Parallel
    branches included (ASL state names are unique in a state machine)."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in (definition.get("States") or {}).items():
        params = state.get("Parameters") or state.get("Arguments") or {}
        payload = params.get("Payload") if isinstance(params, dict) else None
        action = payload.get("action") if isinstance(payload, dict) else None
        found.setdefault(name, {"id": f"{scope}{name}", "type": state.get("Type", "Task"), "action": action})
        subs = [state.get("ItemProcessor") or state.get("Iterator")] if state.get("Type") == "Map" else []
        subs += state.get("Branches") or []
        for index, sub in enumerate(s for s in subs if s):
            for sub_name, info in state_index(sub, f"{scope}{name}/{index}/").items():
                found.setdefault(sub_name, info)
    return found


def state_outcomes(definition: dict[str, Any], summary: dict[str, Any]) -> dict[str, str]:
    """{state name: outcome} for every state the execution entered (see the module doc for the rules)."""
    index = state_index(definition)
    attempts: dict[str, list[str]] = {}
    for task in summary.get("tasks") or []:
        if task.get("state"):
            attempts.setdefault(task["state"], []).append(task.get("outcome") or "RUNNING")
    retried = {r["state"] for r in summary.get("retries") or []}
    states = summary.get("states") or []
    outcomes: dict[str, str] = {}
    for position, state in enumerate(states):
        name = state.get("name")
        info = index.get(name, {})
        tries = attempts.get(name, [])
        if (
            info.get("type") == "Fail"
            or (tries and tries[-1] == "FAILED")
            or (
                summary.get("status") in ("FAILED", "TIMED_OUT")
                and position == len(states) - 1
                and not state.get("exited")
            )
        ):
            outcome = "failed"
        elif info.get("action") in COMPENSATING_ACTIONS and tries:
            outcome = "compensated"
        elif name in retried or "FAILED" in tries:
            outcome = "retried"
        else:
            outcome = "succeeded"
        previous = outcomes.get(name)
        if previous is None or OUTCOMES.index(outcome) > OUTCOMES.index(previous):
            outcomes[name] = outcome  # a state entered twice (a Wait loop) shows its worst visit
    return outcomes


def execution_dot(name: str, definition: dict[str, Any], summary: dict[str, Any]) -> str:
    """diagram.to_dot with every visited state restyled (later attribute statements override earlier ones)."""
    base = diagram.to_dot(name, definition).rstrip().removesuffix("}")
    index = state_index(definition)
    lines = [base.rstrip()]
    for state, outcome in sorted(state_outcomes(definition, summary).items()):
        if state not in index:
            continue
        fill, border = STYLE[outcome]
        style = "filled,bold,rounded" if index[state]["type"] not in ("Choice",) else "filled,bold"
        lines.append(
            f"  {diagram._quote(index[state]['id'])} [fillcolor={diagram._quote(fill)}, color={diagram._quote(border)}, "
            f'penwidth=2.5, style="{style}", class={diagram._quote("visited " + outcome)}, '
            f"tooltip={diagram._quote(state + ': ' + outcome)}];"
        )
    outcomes = state_outcomes(definition, summary)
    for state, info in sorted(index.items()):
        if state not in outcomes:
            lines.append(
                f'  {diagram._quote(info["id"])} [fillcolor="#f8fafc", color="#cbd5e1", fontcolor="#94a3b8", '
                'class="unvisited"];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def execution_svg(name: str, definition: dict[str, Any] | str, summary: dict[str, Any]) -> str:
    """The SVG (text) of `definition` with the execution's path coloured; needs Graphviz `dot`."""
    doc = json.loads(definition) if isinstance(definition, str) else definition
    result = subprocess.run(
        [diagram.dot_program(), "-Tsvg"],
        input=execution_dot(name, doc, summary),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise diagram._UserError(f"dot failed on the graph of {name}: {result.stderr.strip()}")
    svg = result.stdout
    return svg[svg.index("<svg") :] if "<svg" in svg else svg  # drop the XML prolog and doctype: inlined in HTML
