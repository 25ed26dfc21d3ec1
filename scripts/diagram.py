"""Draw each workflow (workflow/<name>.asl.json) as an SVG under build/<env>/diagrams/ with Graphviz `dot`.

Drawn: every state (Task rounded box with its integration and retry policy, Choice diamond, Pass dashed box,
Succeed green, Fail red with its error), `Next` edges, Choice edges labelled with their conditions (`default`
for Default), Catch edges dashed and labelled with the errors they catch, Map iterators (and Parallel branches)
as clusters. The templates are rendered first (the retry policies and the finalize fragment are placeholders);
the graph does not depend on the region or account, so fixed ones are used and `env` only picks the emulator
workarounds and the output folder. Next to each `<name>.svg` the Graphviz source `<name>.dot` is kept.

Needs the `dot` program (Debian/Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from scripts.common import UserError as _UserError
from scripts.common import env_build_dir
from scripts.render import TEMPLATE_DIR, TEMPLATE_SUFFIX, placeholder_values, render_definition

_STYLE = {
    "Task": 'shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8"',
    "Choice": 'shape=diamond, style=filled, fillcolor="#fef3c7", color="#b45309"',
    "Pass": 'shape=box, style="rounded,dashed", color="#475569"',
    "Wait": 'shape=box, style="rounded,filled", fillcolor="#f1f5f9"',
    "Succeed": 'shape=box, style="rounded,filled,bold", fillcolor="#bbf7d0", color="#15803d"',
    "Fail": 'shape=box, style="rounded,filled,bold", fillcolor="#fecaca", color="#b91c1c"',
    "Map": 'shape=box3d, style=filled, fillcolor="#ede9fe", color="#6d28d9"',
    "Parallel": 'shape=box3d, style=filled, fillcolor="#ede9fe", color="#6d28d9"',
}
_OPERATORS = {
    "StringEquals": "==",
    "StringLessThan": "<",
    "StringGreaterThan": ">",
    "StringLessThanEquals": "<=",
    "StringGreaterThanEquals": ">=",
    "StringMatches": "matches",
    "NumericEquals": "==",
    "NumericLessThan": "<",
    "NumericGreaterThan": ">",
    "NumericLessThanEquals": "<=",
    "NumericGreaterThanEquals": ">=",
    "BooleanEquals": "==",
    "TimestampEquals": "==",
    "TimestampLessThan": "<",
    "TimestampGreaterThan": ">",
    "TimestampLessThanEquals": "<=",
    "TimestampGreaterThanEquals": ">=",
}


class GraphvizMissing(_UserError):
    """The Graphviz `dot` program is not installed."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)) or text


def condition_text(rule: dict[str, Any]) -> str:
    """A Choice rule as readable text, e.g. `$.payment.status == "PAID"`."""
    if "And" in rule:
        return " AND ".join(f"({condition_text(r)})" for r in rule["And"])
    if "Or" in rule:
        return " OR ".join(condition_text(r) for r in rule["Or"])
    if "Not" in rule:
        return f"NOT ({condition_text(rule['Not'])})"
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"])
    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if key.startswith("Is"):
            kind = key[2:].lower()
            if kind == "present":
                return f"{variable} {'present' if value else 'absent'}"
            return f"{variable} is {'' if value else 'not '}{kind}"
        base, is_path = (key[:-4], True) if key.endswith("Path") else (key, False)
        operator = _OPERATORS.get(base, base)
        shown = value if is_path else json.dumps(value)
        return f"{variable} {operator} {shown}"
    return variable


def _errors_text(errors: list[str] | str) -> str:
    names = [errors] if isinstance(errors, str) else list(errors)
    short = [n.replace("DynamoDB.", "").replace("Exception", "") if n.startswith("DynamoDB.") else n for n in names]
    return ", ".join(short[:3]) + (f" +{len(short) - 3}" if len(short) > 3 else "")


def _task_detail(state: dict[str, Any]) -> str:
    resource = state.get("Resource", "")
    params = state.get("Parameters") or state.get("Arguments") or {}
    if resource.endswith(":lambda:invoke"):
        function = str(params.get("FunctionName", "?"))
        function = function.removeprefix("${").removesuffix("}").removesuffix("FunctionArn").lower()
        action = (params.get("Payload") or {}).get("action")
        kind = (params.get("Payload") or {}).get("type")
        detail = f"λ {function}" + (f" · {action}" if action else "") + (f" ({kind})" if kind else "")
    elif resource.startswith("arn:aws:states:::"):
        detail = resource.removeprefix("arn:aws:states:::")
        update = params.get("UpdateExpression")
        if update and "#status = :status" in update:
            status = ((params.get("ExpressionAttributeValues") or {}).get(":status") or {}).get("S")
            if status:
                detail += f" → {status}"
    else:
        detail = resource.rsplit(":", 1)[-1]
    retries = state.get("Retry") or []
    if retries:
        detail += "\nretry " + " / ".join(f"×{r.get('MaxAttempts', 3)}" for r in retries)
    return detail


class _Graph:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str, indent: int) -> None:
        self.lines.append("  " * indent + line)


def _node_id(scope: str, name: str) -> str:
    return _quote(f"{scope}{name}")


def _emit_states(graph: _Graph, machine: dict[str, Any], scope: str, indent: int) -> list[str]:
    """Nodes and edges of one (sub-)machine; returns the ids of its terminal states."""
    states: dict[str, Any] = machine.get("States", {})
    terminals: list[str] = []
    deferred_edges: list[str] = []
    for name, state in states.items():
        kind = state.get("Type", "Task")
        node = _node_id(scope, name)
        label = name
        if kind == "Task":
            label += "\n" + _task_detail(state)
        elif kind == "Fail":
            label += "\n" + str(state.get("Error") or state.get("ErrorPath") or "")
        elif kind in ("Map", "Parallel"):
            limit = state.get("MaxConcurrency")
            label += f"\n{kind}" + (f" · max concurrency {limit}" if limit else "")
        graph.add(f"{node} [label={_quote(label)}, {_STYLE.get(kind, _STYLE['Task'])}];", indent)

        if kind in ("Map", "Parallel"):
            subs = (
                [state.get("ItemProcessor") or state.get("Iterator") or {}]
                if kind == "Map"
                else state.get("Branches", [])
            )
            sub_terminals: list[str] = []
            for index, sub in enumerate(subs):
                sub_scope = f"{scope}{name}/{index}/"
                cluster = _quote(f"cluster_{sub_scope}")
                graph.add(f"subgraph {cluster} {{", indent)
                title = f"{name}: for each item" if kind == "Map" else f"{name}: branch {index + 1}"
                graph.add(
                    f'label={_quote(title)}; style="rounded,dashed"; color="#6d28d9"; fontcolor="#6d28d9";', indent + 1
                )
                ends = _emit_states(graph, sub, sub_scope, indent + 1)
                graph.add("}", indent)
                start = _node_id(sub_scope, sub.get("StartAt", ""))
                deferred_edges.append(
                    f"{node} -> {start} [lhead={cluster}, style=dotted, "
                    f"label={_quote('each item' if kind == 'Map' else 'branch')}];"
                )
                sub_terminals.extend(ends[:1])
            if "Next" in state and sub_terminals:
                deferred_edges.append(
                    f"{sub_terminals[0]} -> {_node_id(scope, state['Next'])} "
                    f"[ltail={_quote('cluster_' + scope + name + '/0/')}];"
                )
        elif "Next" in state:
            deferred_edges.append(f"{node} -> {_node_id(scope, state['Next'])};")

        if kind == "Choice":
            for rule in state.get("Choices", []):
                deferred_edges.append(
                    f"{node} -> {_node_id(scope, rule['Next'])} "
                    f'[label={_quote(_wrap(condition_text(rule)))}, color="#b45309"];'
                )
            if "Default" in state:
                deferred_edges.append(
                    f'{node} -> {_node_id(scope, state["Default"])} [label="default", color="#b45309", style=bold];'
                )
        for catcher in state.get("Catch", []):
            deferred_edges.append(
                f'{node} -> {_node_id(scope, catcher["Next"])} [style=dashed, color="#b91c1c", '
                f'fontcolor="#b91c1c", label={_quote("catch " + _errors_text(catcher.get("ErrorEquals", [])))}];'
            )
        if kind in ("Succeed", "Fail") or state.get("End"):
            terminals.append(node)
    for edge in deferred_edges:
        graph.add(edge, indent)
    return terminals


def to_dot(name: str, definition: dict[str, Any]) -> str:
    """Graphviz source of one state machine definition."""
    graph = _Graph()
    graph.add(f"digraph {_quote(name)} {{", 0)
    graph.add(
        'graph [rankdir=TB, compound=true, fontname="Helvetica", fontsize=14, labelloc=t, '
        f"nodesep=0.4, ranksep=0.45, label={_quote(name)}];",
        1,
    )
    graph.add('node [fontname="Helvetica", fontsize=10];', 1)
    graph.add('edge [fontname="Helvetica", fontsize=8, color="#334155"];', 1)
    graph.add('"__start__" [label="", shape=circle, width=0.2, style=filled, fillcolor=black];', 1)
    _emit_states(graph, definition, "", 1)
    graph.add(f'"__start__" -> {_node_id("", definition.get("StartAt", ""))};', 1)
    graph.add("}", 0)
    return "\n".join(graph.lines) + "\n"


def dot_program() -> str:
    found = shutil.which("dot")
    if not found:
        raise GraphvizMissing(
            "Graphviz `dot` is needed to draw the workflow diagrams: install it with "
            "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS)."
        )
    return found


def render_diagrams(env: str, *, out_dir: Path | None = None, template_dir: Path | None = None) -> list[Path]:
    """One SVG per workflow under build/<env>/diagrams/ (or `out_dir`); returns their paths."""
    dot = dot_program()
    target = Path(out_dir) if out_dir is not None else env_build_dir(env) / "diagrams"
    target.mkdir(parents=True, exist_ok=True)
    templates = sorted(Path(template_dir or TEMPLATE_DIR).glob(f"*{TEMPLATE_SUFFIX}"))
    if not templates:
        raise _UserError(f"no *{TEMPLATE_SUFFIX} workflow templates under {template_dir or TEMPLATE_DIR}")
    values = placeholder_values(env, region="us-east-1", account_id="000000000000")
    written: list[Path] = []
    for template in templates:
        name = template.name[: -len(TEMPLATE_SUFFIX)]
        source = target / f"{name}.dot"
        definition = render_definition(template.read_text(encoding="utf-8"), values, source=str(template))
        source.write_text(to_dot(name, definition), encoding="utf-8")
        svg = target / f"{name}.svg"
        result = subprocess.run(
            [dot, "-Tsvg", "-o", str(svg), str(source)], check=False, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise _UserError(f"dot failed on {source}: {result.stderr.strip()}")
        written.append(svg)
    return written


if __name__ == "__main__":
    for path in render_diagrams(sys.argv[1] if len(sys.argv) > 1 else "local"):
        print(path)
