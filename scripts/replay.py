"""`invoke replay --env <env> --since ... --until ...`: replay archived events from the bus archive.

events.start_replay from the archive (outputs archive_arn) onto the bus (outputs event_bus_arn) for the window
[since, until], then describe_replay until COMPLETED / FAILED / CANCELLED or a deadline, and report what was replayed.
Consumers de-duplicate replays by the events' deterministic `eventId` (docs/architecture.md), so a replay is safe.

EventBridge reports no count of replayed events (DescribeReplay has state, window, EventLastReplayedTime); the
report gives the archive's EventCount before and after as context. Local cloud differences: docs/e2e.md
"Local cloud gaps".
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

from scripts.common import PROJECT, UserError, is_local, read_outputs

DONE_STATES = ("COMPLETED", "FAILED", "CANCELLED")


def _parse_time(value: str | datetime | None, default: datetime, what: str) -> datetime:
    from scripts.timeutil import parse_ts

    if value in (None, ""):
        return default
    parsed = parse_ts(value)
    if parsed is None:
        raise UserError(f"--{what} '{value}' is not an ISO-8601 time: use e.g. 2026-11-27T10:00:00Z.")
    return parsed


def replay_name(env: str) -> str:
    from scripts.timeutil import new_run_id

    name = f"{PROJECT}-{env}-{new_run_id('replay')}"
    return re.sub(r"[^.\-_A-Za-z0-9]", "-", name)[:64]


def replay(
    env: str,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    *,
    filter_arns: list[str] | None = None,
    timeout: float | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Replay [since, until] (default: the last hour) and wait for the outcome; raise UserError unless COMPLETED.

    filter_arns: rule ARNs to replay to (Destination.FilterArns); default every rule on the bus.
    timeout: seconds to wait for the replay (default 120 on the local cloud, 900 on AWS, where replays run in
    one-minute slices and take minutes)."""
    from scripts.aws_session import aws_client
    from scripts.timeutil import iso, utcnow

    outputs = read_outputs(env)
    archive_arn, bus_arn = outputs.get("archive_arn"), outputs.get("event_bus_arn")
    archive_name = outputs.get("archive_name") or (archive_arn or "").rsplit("/", 1)[-1]
    if not archive_arn or not bus_arn:
        raise UserError(
            f"outputs.json of env '{env}' lacks archive_arn/event_bus_arn: redeploy with `invoke deploy --env {env}`."
        )
    now = utcnow()
    start = _parse_time(since, now - timedelta(hours=1), "since")
    end = min(_parse_time(until, now, "until"), now)
    if end <= start:
        raise UserError(
            f"The replay window is empty ({iso(start)} .. {iso(end)}): --since must be before --until and the past."
        )
    timeout = timeout if timeout is not None else (120.0 if is_local(env) else 900.0)
    events = aws_client(env, "events")
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))

    before = _archive_count(events, archive_name)
    name = replay_name(env)
    destination: dict[str, Any] = {"Arn": bus_arn}
    if filter_arns:
        destination["FilterArns"] = list(filter_arns)
    say(
        f"Replaying {archive_name} [{iso(start)} .. {iso(end)}] onto {bus_arn.rsplit('/', 1)[-1]} as {name}"
        + (f" (rules: {', '.join(a.rsplit('/', 1)[-1] for a in filter_arns)})" if filter_arns else " (every rule)")
    )
    started = time.monotonic()
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination=destination,
        Description=f"invoke replay --env {env}",
    )
    deadline = started + timeout
    last_state, desc = None, {}
    while True:
        desc = events.describe_replay(ReplayName=name)
        state = desc.get("State")
        if state != last_state:
            say(
                f"  {state} after {time.monotonic() - started:.1f}s"
                + (
                    f" (last replayed event time {iso(desc['EventLastReplayedTime'])})"
                    if desc.get("EventLastReplayedTime")
                    else ""
                )
            )
            last_state = state
        if state in DONE_STATES:
            break
        if time.monotonic() >= deadline:
            try:
                events.cancel_replay(ReplayName=name)
            except Exception:  # noqa: BLE001, S110 - best effort on the way out
                pass
            raise UserError(
                f"Replay {name} still {state} after {timeout:.0f}s: it was cancelled; retry with a narrower window."
            )
        time.sleep(0.25 if is_local(env) else 5.0)
    after = _archive_count(events, archive_name)
    result = {
        "name": name,
        "state": desc.get("State"),
        "reason": desc.get("StateReason"),
        "window": [iso(start), iso(end)],
        "filter_arns": filter_arns or [],
        "replay_start": iso(desc.get("ReplayStartTime"))
        if isinstance(desc.get("ReplayStartTime"), datetime)
        else desc.get("ReplayStartTime"),
        "replay_end": iso(desc.get("ReplayEndTime"))
        if isinstance(desc.get("ReplayEndTime"), datetime)
        else desc.get("ReplayEndTime"),
        "event_last_replayed": iso(desc["EventLastReplayedTime"])
        if isinstance(desc.get("EventLastReplayedTime"), datetime)
        else None,
        "seconds": round(time.monotonic() - started, 2),
        "archive_event_count_before": before,
        "archive_event_count_after": after,
    }
    say(
        f"Replay {name}: {result['state']}"
        + (f" ({result['reason']})" if result["reason"] else "")
        + f" in {result['seconds']}s; window {result['window'][0]} .. {result['window'][1]}; "
        + (f"last replayed event at {result['event_last_replayed']}; " if result["event_last_replayed"] else "")
        + f"archive holds {after if after is not None else '?'} events (EventBridge reports no replayed-event count)."
    )
    if result["state"] != "COMPLETED":
        raise UserError(f"Replay {name} ended {result['state']}: {result['reason'] or 'no reason given'}.")
    return result


def archive_event_count(env: str) -> int:
    """The bus archive's EventCount now (DescribeArchive)."""
    from scripts.aws_session import aws_client

    outputs = read_outputs(env)
    name = outputs.get("archive_name") or (outputs.get("archive_arn") or "").rsplit("/", 1)[-1]
    return int(aws_client(env, "events").describe_archive(ArchiveName=name).get("EventCount", 0))


def wait_archived(env: str, at_least: int, timeout: float | None = None) -> int:
    """Poll DescribeArchive until the archive holds at least `at_least` events; a replay started earlier would find
    the window empty (AWS archives with a delay). Deadline: 60 s locally, 600 s on AWS. Returns the count."""
    from scripts.polling import wait_until

    timeout = timeout if timeout is not None else (60.0 if is_local(env) else 600.0)
    return wait_until(
        lambda: (count := archive_event_count(env)) >= at_least and count,
        timeout,
        f"the event archive to hold {at_least} events",
        interval=0.25 if is_local(env) else 5.0,
    )


def _archive_count(events: Any, archive_name: str) -> int | None:
    try:
        return int(events.describe_archive(ArchiveName=archive_name).get("EventCount", 0))
    except Exception:  # noqa: BLE001 - context only
        return None
