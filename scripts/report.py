"""The e2e run's report from the per-scenario records the suite's conftest writes: a summary table for the terminal
and a self-contained HTML page (inline CSS, no scripts)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from scripts.order_timeline import TERMINAL_STATUSES
from scripts.stats import percentile
from scripts.text_table import fmt_seconds, format_table
from scripts.timeutil import iso, parse_ts


def scenario_rows(records: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for sc in records.get("scenarios", []):
        lat = [o.get("latency_s") for o in sc.get("orders", []) if o.get("latency_s") is not None]
        statuses: dict[str, int] = {}
        for order in sc.get("orders", []):
            statuses[order.get("status") or "?"] = statuses.get(order.get("status") or "?", 0) + 1
        mix = " ".join(f"{k}={v}" for k, v in sorted(statuses.items())) or "-"
        rows.append(
            [
                sc["name"],
                len(sc.get("orders", [])),
                sc.get("outcome", "?").upper(),
                fmt_seconds(percentile(lat, 50)),
                fmt_seconds(max(lat) if lat else None),
                f"{sc.get('duration_s', 0):.1f}s",
                mix,
            ]
        )
    return rows


SUMMARY_HEADERS = ("scenario", "orders", "outcome", "p50", "max", "duration", "final statuses")


def summary_table(records: dict[str, Any]) -> str:
    return format_table(SUMMARY_HEADERS, scenario_rows(records))


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _offset(base: datetime | None, value: Any) -> str:
    ts = parse_ts(value)
    if base is None or ts is None:
        return ""
    return f"{(ts - base).total_seconds() * 1000:+.0f} ms"


def _order_html(order: dict[str, Any]) -> str:
    # Time zero: the order accepted (createdAt, written by the order Lambda before it answers 201).
    accepted = parse_ts(order.get("createdAt")) or parse_ts(order.get("acceptedAt"))
    steps = [
        ("accepted", "accepted: POST /orders -> order PENDING", order.get("createdAt") or order.get("acceptedAt")),
        ("client", f"HTTP {order.get('httpStatus') or 201} received by the client", order.get("acceptedAt")),
    ]
    for ex in order.get("executions", []):
        label = f"{ex.get('stateMachine', '?')} {ex.get('name', '')}".strip()
        steps.append(("execution", f"{label} started", ex.get("start")))
        for state in ex.get("states", []):
            steps.append(("state", f"{state.get('type', '')} {state.get('name')}", state.get("entered")))
        for retry in ex.get("retries", []):
            steps.append(
                (
                    "retry",
                    f"retry in {retry['state']}: {retry['attempts']} attempts ({', '.join(map(str, retry['errors']))})",
                    None,
                )
            )
        steps.append(
            (
                "execution",
                f"{label} {ex.get('status')}" + (f" {ex.get('error')}" if ex.get("error") else ""),
                ex.get("stop"),
            )
        )
    for entry in order.get("statusHistory", [])[1:]:
        steps.append(
            (
                "status",
                f"status {entry.get('status')}" + (f" ({entry.get('reason')})" if entry.get("reason") else ""),
                entry.get("at"),
            )
        )
    timed = sorted((s for s in steps if parse_ts(s[2])), key=lambda s: parse_ts(s[2]))
    untimed = [s for s in steps if not parse_ts(s[2])]
    items = "".join(
        f'<li class="{k}"><span class="t">{_esc(iso(parse_ts(t)))}</span> <span class="o">{_esc(_offset(accepted, t))}</span> '
        f"{_esc(text)}</li>"
        for k, text, t in timed + untimed
    )
    status = order.get("status") or "?"
    css = (
        "ok"
        if status == "COMPLETED"
        else ("bad" if status in ("FAILED", "?") or status not in TERMINAL_STATUSES else "warn")
    )
    summary = (
        f"<code>{_esc(order.get('orderId'))}</code> {_esc(order.get('label') or '')} "
        f'<b class="{css}">{_esc(status)}</b> in {_esc(fmt_seconds(order.get("latency_s")))}'
    )
    return f"<details><summary>{summary}</summary><ol>{items}</ol></details>"


def render_html(records: dict[str, Any]) -> str:
    """A self-contained HTML page (inline CSS, no scripts): summary table, then per scenario, per order: accepted ->
    each workflow state with its timestamp from the execution history -> terminal status, with times."""
    meta = records.get("meta", {})
    head_rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in scenario_rows(records)
    )
    sections = []
    for sc in records.get("scenarios", []):
        orders = sc.get("orders", [])
        notes = "".join(f"<li>{_esc(n)}</li>" for n in sc.get("notes", []))
        message = f"<pre class='bad'>{_esc(sc.get('message'))}</pre>" if sc.get("message") else ""
        sections.append(
            f'<section id="{_esc(sc["name"])}"><h2>{_esc(sc["name"])} <small class="{"ok" if sc.get("outcome") == "passed" else "bad"}">'
            f"{_esc(sc.get('outcome'))}</small></h2><p>{_esc(sc.get('nodeid'))} &middot; {len(orders)} orders &middot; "
            f'{sc.get("duration_s", 0):.1f}s</p>{message}<ul class="notes">{notes}</ul>'
            + "".join(_order_html(o) for o in orders)
            + "</section>"
        )
    style = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}code,.t,.o{font-family:ui-monospace,monospace}
.o{color:#777;display:inline-block;min-width:7em}.t{color:#555}.ok{color:#176f2c}.bad{color:#b00020}.warn{color:#a15c00}
details{margin:2px 0}summary{cursor:pointer}li.state{color:#234}li.status{font-weight:600}li.retry{color:#a15c00}
li.execution,li.client{color:#555}section{margin-top:2em;border-top:1px solid #ddd}pre{white-space:pre-wrap}"""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>orderflow e2e {_esc(meta.get('env'))} "
        f"{_esc(meta.get('run_id'))}</title><style>{style}</style></head><body>"
        f"<h1>orderflow e2e: env {_esc(meta.get('env'))}, run {_esc(meta.get('run_id'))}</h1>"
        f"<p>{_esc(meta.get('started'))} &rarr; {_esc(meta.get('finished'))} &middot; API {_esc(meta.get('api_url'))} "
        f"&middot; pytest exit {_esc(meta.get('exit_code'))}</p>"
        f"<table><tr>{''.join(f'<th>{_esc(h)}</th>' for h in SUMMARY_HEADERS)}</tr>{head_rows}</table>"
        f"<p>Latency: API accepted (order createdAt) to the terminal status's statusHistory time.</p>"
        + "".join(sections)
        + "</body></html>"
    )
