"""Glue between Invoke and the task modules: one-sentence errors, non-zero exits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from invoke import Exit

from scripts.common import UserError


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a UserError into its sentence and exit code 1 instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            raise Exit(f"error: {exc}", code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return wrapper
