"""The console's audit trail: one JSON line per action an operator confirmed (who, what, when, result), appended to
build/<env>/audit/console.jsonl and logged (logger `orderflow.console.audit`). Nothing is ever rewritten: the file is
opened for appending only, and each record is written with one write call under a lock."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from scripts.timeutil import iso, utcnow

log = logging.getLogger("orderflow.console.audit")


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(
        self, *, who: str, sub: str | None, action: str, params: dict[str, Any], result: str, message: str
    ) -> dict[str, Any]:
        entry = {
            "at": iso(utcnow()),
            "who": who,
            "sub": sub,
            "action": action,
            "params": params,
            "result": result,
            "message": message,
        }
        line = json.dumps(entry, sort_keys=True, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        log.info("audit %s", line)
        return entry

    def read(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest `limit` records, newest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()[-limit:]
        return [json.loads(line) for line in reversed(lines) if line.strip()]
