"""A deterministic interpreter for Amazon States Language (JSONPath mode), written as a generator.

The seeded simulation interleaves several executions at task boundaries, so `run` never performs an
effect itself: every Task attempt is yielded as a `TaskCall` and every wait (Wait state, retry back-off) as a
`Sleep`; the driver answers with `send`/`throw`. Randomness (retry jitter, States.MathRandom, States.UUID)
comes only from `Context.rng` and time only from `Context.now`, so a seed reproduces a run exactly.

Semantics follow https://states-language.net/spec.html and the Step Functions documentation; see the
comments for where AWS's observed behaviour is followed instead of the spec.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import operator
import random
import re
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Errors no Retry or Catch matches, not even States.ALL: they always fail the execution (AWS docs).
UNCATCHABLE_ERRORS = frozenset({"States.Runtime", "States.DataLimitExceeded"})


class _NamedError(Exception):
    """An error with an ASL error name and a human-readable cause."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class StatesError(_NamedError):
    """An ASL error raised by a state or thrown into the generator by the driver for a TaskCall."""


class ExecutionFailed(_NamedError):
    """The execution ended in a Fail state or with an error nothing caught."""


@dataclass
class Context:
    """Where the execution's context object (`$$`), its clock and its randomness come from."""

    execution_id: str
    execution_name: str
    state_machine_id: str
    start_time: str
    now: Callable[[], str]
    rng: random.Random


@dataclass
class TaskCall:
    """One attempt of a Task state: the driver answers with `send(result)` or `throw(StatesError(...))`."""

    state_name: str
    resource: str
    parameters: Any
    retry_count: int
    timeout_seconds: int | None
    execution: Context


@dataclass
class Sleep:
    """A pause of `seconds` of virtual time (reason `wait:<State>` or `retry:<State>`); answer `send(None)`."""

    seconds: float
    reason: str


Effect = TaskCall | Sleep
Flow = Generator[Effect, Any, Any]


# ---------------------------------------------------------------------------------------------- paths


class _PathNotFound(Exception):
    """A definite step of a path found nothing."""


_PATH_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?P<index>\d+)\]|\[(?P<star>\*)\]|\[(?P<q>['"])(?P<quoted>.*?)(?P=q)\]"""
)


@functools.cache
def _parse_path(path: str) -> tuple[tuple[str, Any], ...]:
    """`$.a['b'][0][*]` -> (("key", "a"), ("key", "b"), ("index", 0), ("all", None))."""
    if not path.startswith("$"):
        raise StatesError("States.Runtime", f"invalid path {path!r}")
    steps: list[tuple[str, Any]] = []
    position = 1
    while position < len(path):
        match = _PATH_STEP.match(path, position)
        if match is None:
            raise StatesError("States.Runtime", f"unsupported JSONPath {path!r}")
        if match["index"] is not None:
            steps.append(("index", int(match["index"])))
        elif match["star"] or match["name"] == "*":
            steps.append(("all", None))
        else:
            steps.append(("key", match["quoted"] if match["name"] is None else match["name"]))
        position = match.end()
    return tuple(steps)


def _copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): states never share mutable values. ~5x faster than
    copy.deepcopy, which a schedule called ~200 times a second."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _query(path: str, root: Any) -> Any:
    """Apply a path like Jayway JsonPath (as Step Functions does): after a `[*]` the result is the flat list
    of every match, and a missing step is skipped there; on a definite path a missing step is an error."""
    matches, definite = [root], True
    for kind, arg in _parse_path(path):
        found: list[Any] = []
        for node in matches:
            if (
                kind == "key"
                and isinstance(node, dict)
                and arg in node
                or kind == "index"
                and isinstance(node, list)
                and arg < len(node)
            ):
                found.append(node[arg])
            elif kind == "all" and isinstance(node, (list, dict)):
                found.extend(node if isinstance(node, list) else node.values())
            elif definite:
                raise _PathNotFound(path)
        matches, definite = found, definite and kind != "all"
    return _copy(matches[0] if definite else matches)


def _apply_result_path(raw_input: Any, result: Any, result_path: str | None) -> Any:
    """Combine a state's raw input with its result; `$.x.y` creates the missing objects on the way."""
    if result_path is None:
        return _copy(raw_input)
    steps = _parse_path(result_path)
    if not steps:
        return result
    if any(kind != "key" for kind, _ in steps):
        raise StatesError("States.Runtime", f"unsupported ResultPath {result_path!r}")
    output = _copy(raw_input)
    node = output
    for _, key in steps[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise StatesError(
            "States.ResultPathMatchFailure",
            f"ResultPath {result_path!r} cannot be applied to the input {json.dumps(raw_input)}",
        )
    node[steps[-1][1]] = result
    return output


@dataclass
class _Scope:
    """What one state's paths and intrinsics see: `$` is `data`, `$$` the context object."""

    data: Any
    context_object: dict[str, Any]
    rng: random.Random

    def _root(self, path: str) -> tuple[Any, str]:
        return (self.context_object, path[1:]) if path.startswith("$$") else (self.data, path)

    def resolve(self, path: str, field_name: str) -> Any:
        root, query = self._root(path)
        try:
            return _query(query, root)
        except _PathNotFound:
            raise StatesError(
                "States.Runtime",
                f"The JSONPath '{path}' specified for the field '{field_name}' "
                f"could not be found in the input '{json.dumps(root)}'",
            ) from None

    def exists(self, path: str) -> bool:
        root, query = self._root(path)
        try:
            _query(query, root)
        except _PathNotFound:
            return False
        return True


def _render(template: Any, scope: _Scope) -> Any:
    """Process a payload template: a `key.$` takes the value of its path or intrinsic, the rest recurses."""
    if isinstance(template, dict):
        return {
            key.removesuffix(".$"): _expression(value, scope, key) if key.endswith(".$") else _render(value, scope)
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [_render(item, scope) for item in template]
    return template


def _expression(text: Any, scope: _Scope, field_name: str) -> Any:
    """The value of a path (`$...`, `$$...`) or an intrinsic function call."""
    if not isinstance(text, str):
        raise StatesError("States.Runtime", f"field {field_name!r} must hold a path or an intrinsic function")
    if text.startswith("$"):
        return scope.resolve(text, field_name)
    return _evaluate(_parse_intrinsic(text), scope)


# ---------------------------------------------------------------------------------- intrinsic functions


@dataclass(frozen=True)
class _Literal:
    """A literal argument; a quoted string keeps its escaped text in `raw` (States.Format tells `\\{}` from `{}`)."""

    value: Any
    raw: str | None = None


@dataclass(frozen=True)
class _PathArg:
    path: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<path>\$(?:[^,()\s\[]|\[(?:'[^']*'|"[^"]*"|[^\]]*)\])*)
  | (?P<literal>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|(?:null|true|false)\b)
  | (?P<call>[A-Za-z][A-Za-z0-9_.]*)\(
  | (?P<punctuation>[,)])
)\s*""",
    re.VERBOSE,
)


def _intrinsic_failure(text: str, message: str) -> StatesError:
    return StatesError("States.IntrinsicFailure", f"{message} in {text!r}")


@functools.cache
def _parse_intrinsic(text: str) -> _Call:
    """Parse `States.Name(arg, ...)`; arguments are 'strings', numbers, null/true/false, paths or calls."""
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _intrinsic_failure(text, f"unexpected text at {position}")
        tokens.append((match.lastgroup, match[match.lastgroup]))
        position = match.end()
    call, used = _parse_argument(text, tokens, 0)
    if not isinstance(call, _Call) or used != len(tokens):
        raise _intrinsic_failure(text, "expected one intrinsic function call")
    return call


def _parse_argument(text: str, tokens: list[tuple[str, str]], index: int) -> tuple[Any, int]:
    """The argument starting at tokens[index], and the index after it."""
    kind, token = tokens[index] if index < len(tokens) else ("end", "")
    if kind == "string":
        raw = token[1:-1]
        if not re.fullmatch(r"(?:[^\\]|\\['{}\\])*", raw):
            raise _intrinsic_failure(text, "open escape backslash")
        return _Literal(re.sub(r"\\(.)", r"\1", raw), raw), index + 1
    if kind == "path":
        return _PathArg(token), index + 1
    if kind == "literal":
        return _Literal(json.loads(token)), index + 1
    if kind != "call":
        raise _intrinsic_failure(text, f"unexpected {token or 'end'!r}")
    args: list[Any] = []
    index += 1
    if tokens[index : index + 1] == [("punctuation", ")")]:
        return _Call(token, ()), index + 1
    while True:
        arg, index = _parse_argument(text, tokens, index)
        args.append(arg)
        separator = tokens[index][1] if index < len(tokens) else ""
        if separator == ")":
            return _Call(token, tuple(args)), index + 1
        if separator != ",":
            raise _intrinsic_failure(text, "expected ',' or ')'")
        index += 1


def _evaluate(node: Any, scope: _Scope) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _PathArg):
        return scope.resolve(node.path, "intrinsic argument")
    if node.name not in _INTRINSICS:
        raise StatesError("States.IntrinsicFailure", f"unsupported intrinsic function {node.name}")
    least, most, function = _INTRINSICS[node.name]
    if not least <= len(node.args) <= most:
        raise StatesError("States.IntrinsicFailure", f"{node.name} takes {least}..{most} arguments")
    args = [_evaluate(arg, scope) for arg in node.args]
    if node.name == "States.Format" and isinstance(node.args[0], _Literal) and node.args[0].raw is not None:
        args[0] = node.args[0]  # a quoted template keeps its escapes
    try:
        return function(args, scope.rng)
    except ValueError as err:  # includes JSON, base64 and UTF-8 decoding errors
        raise StatesError("States.IntrinsicFailure", f"{node.name}: {err}") from None


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expected an array, got {json.dumps(value)}")
    return value


def _string(value: Any, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {json.dumps(value)}")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"the string is longer than {max_length} characters")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {json.dumps(value)}")
    return value


def _canonical(value: Any) -> str:
    """JSON identity for membership tests (keeps `true` and `1` apart)."""
    return json.dumps(value, sort_keys=True)


def _format_value(value: Any) -> str:
    """How States.Format renders an argument. The spec forbids arrays and objects; AWS accepts them and prints
    them Java-style (`{a=1, b=[x, y]}`), which is what LocalStack's AWS-snapshot tests record."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(map(_format_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_format_value(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


def _format_pieces(raw: str) -> list[str]:
    """Split a literal template at its unescaped `{}`, resolving the escapes."""
    pieces = [""]
    for escaped, placeholder, char in re.findall(r"\\(.)|(\{\})|(.)", raw, re.DOTALL):
        if placeholder:
            pieces.append("")
        else:
            pieces[-1] += escaped or char
    return pieces


def _format(args: list[Any], rng: random.Random) -> str:
    template, values = args[0], args[1:]
    pieces = _format_pieces(template.raw) if isinstance(template, _Literal) else _string(template).split("{}")
    if len(pieces) != len(values) + 1:
        raise ValueError(f"{len(pieces) - 1} placeholder(s) but {len(values)} argument(s)")
    return pieces[0] + "".join(_format_value(value) + piece for value, piece in zip(values, pieces[1:]))


def _array_partition(args: list[Any], rng: random.Random) -> list[list[Any]]:
    array, size = _list(args[0]), _integer(args[1])
    if size <= 0:
        raise ValueError("the chunk size must be a positive integer")
    return [array[start : start + size] for start in range(0, len(array), size)]


def _array_range(args: list[Any], rng: random.Random) -> list[int]:
    first, last, step = map(_integer, args)
    if step == 0:
        raise ValueError("the step must not be 0")
    values = range(first, last + (1 if step > 0 else -1), step)
    if len(values) > 1000:
        raise ValueError("an array cannot hold more than 1000 items")
    return list(values)


def _array_get_item(args: list[Any], rng: random.Random) -> Any:
    array, index = _list(args[0]), _integer(args[1])
    if not 0 <= index < len(array):
        raise ValueError(f"index {index} is out of bounds")
    return array[index]


def _array_unique(args: list[Any], rng: random.Random) -> list[Any]:
    unique: dict[str, Any] = {}
    for item in _list(args[0]):
        unique.setdefault(_canonical(item), item)
    return list(unique.values())


_HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(args: list[Any], rng: random.Random) -> str:
    data, algorithm = _string(args[0], 10_000), args[1]
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(f"unknown algorithm {json.dumps(algorithm)}")
    return hashlib.new(_HASH_ALGORITHMS[algorithm], data.encode()).hexdigest()


def _json_merge(args: list[Any], rng: random.Random) -> dict[str, Any]:
    first, second, deep = args
    if not isinstance(first, dict) or not isinstance(second, dict):
        raise ValueError("both arguments must be objects")
    if deep is not False:
        raise ValueError("only shallow merging (false) is supported")
    return {**first, **second}


def _math_random(args: list[Any], rng: random.Random) -> int:
    """An integer in [start, end); with a seed argument the same number every time, as AWS promises."""
    start, end = _integer(args[0]), _integer(args[1])
    if start >= end:
        raise ValueError("the start must be less than the end")
    source = random.Random(_integer(args[2])) if len(args) == 3 else rng
    return source.randrange(start, end)


def _string_split(args: list[Any], rng: random.Random) -> list[str]:
    """Every character of the second argument is a delimiter; empty parts are dropped."""
    text, delimiters = _string(args[0]), _string(args[1])
    parts = re.split("|".join(map(re.escape, delimiters)), text) if delimiters else [text]
    return [part for part in parts if part]


_UNBOUNDED = float("inf")
_INTRINSICS: dict[str, tuple[int, float, Callable[[list[Any], random.Random], Any]]] = {
    "States.Format": (1, _UNBOUNDED, _format),
    "States.StringToJson": (1, 1, lambda args, rng: json.loads(_string(args[0]))),
    "States.JsonToString": (1, 1, lambda args, rng: json.dumps(args[0], separators=(",", ":"))),
    "States.Array": (0, _UNBOUNDED, lambda args, rng: args),
    "States.ArrayPartition": (2, 2, _array_partition),
    "States.ArrayContains": (2, 2, lambda args, rng: _canonical(args[1]) in map(_canonical, _list(args[0]))),
    "States.ArrayRange": (3, 3, _array_range),
    "States.ArrayGetItem": (2, 2, _array_get_item),
    "States.ArrayLength": (1, 1, lambda args, rng: len(_list(args[0]))),
    "States.ArrayUnique": (1, 1, _array_unique),
    "States.Base64Encode": (1, 1, lambda args, rng: base64.b64encode(_string(args[0], 10_000).encode()).decode()),
    "States.Base64Decode": (1, 1, lambda args, rng: base64.b64decode(_string(args[0], 10_000), validate=True).decode()),
    "States.Hash": (2, 2, _hash),
    "States.JsonMerge": (3, 3, _json_merge),
    "States.MathRandom": (2, 3, _math_random),
    "States.MathAdd": (2, 2, lambda args, rng: _integer(args[0]) + _integer(args[1])),
    "States.StringSplit": (2, 2, _string_split),
    "States.UUID": (0, 0, lambda args, rng: str(uuid.UUID(int=rng.getrandbits(128), version=4))),
}
SUPPORTED_INTRINSICS = frozenset(_INTRINSICS)


# ------------------------------------------------------------------------------------------ Choice rules

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _timestamp(value: Any) -> datetime | None:
    """The instant of an RFC 3339 timestamp string (uppercase T and Z, as the spec requires), else None."""
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: comparison family -> the comparable form of a value of that type, or None for a value of another type
_FAMILIES: dict[str, Callable[[Any], Any]] = {
    "String": lambda value: value if isinstance(value, str) else None,
    "Numeric": lambda value: value if _is_number(value) else None,
    "Boolean": lambda value: value if isinstance(value, bool) else None,
    "Timestamp": _timestamp,
}
_COMPARISONS = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_COMPARATORS = {
    family + comparison: (_FAMILIES[family], compare)
    for family in _FAMILIES
    for comparison, compare in _COMPARISONS.items()
    if family != "Boolean" or comparison == "Equals"
}
_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: _timestamp(value) is not None,
}
_RULE_FIELDS = frozenset({"Variable", "Next", "Comment"})
SUPPORTED_CHOICE_OPERATORS = frozenset(
    {
        *_COMPARATORS,
        *(name + "Path" for name in _COMPARATORS),
        *_TYPE_TESTS,
        "StringMatches",
        "IsPresent",
        "And",
        "Or",
        "Not",
    }
)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """StringMatches: `*` matches any run of characters; `\\*` and `\\\\` are a literal `*` and `\\`."""
    tokens = re.split(r"(\\\\|\\\*|\*)", pattern)
    return re.compile(
        "".join(
            ".*" if token == "*" else re.escape(token[1:] if token in ("\\\\", "\\*") else token) for token in tokens
        ),
        re.DOTALL,
    )


def _rule_matches(rule: dict[str, Any], scope: _Scope) -> bool:
    if "And" in rule:
        return all(_rule_matches(branch, scope) for branch in rule["And"])
    if "Or" in rule:
        return any(_rule_matches(branch, scope) for branch in rule["Or"])
    if "Not" in rule:
        return not _rule_matches(rule["Not"], scope)
    name = next((key for key in rule if key not in _RULE_FIELDS), None)
    if name not in SUPPORTED_CHOICE_OPERATORS:
        raise StatesError("States.Runtime", f"unsupported Choice rule {json.dumps(rule)}")
    expected = rule[name]
    if name == "IsPresent":
        return scope.exists(rule["Variable"]) == expected
    value = scope.resolve(rule["Variable"], "Variable")
    if name in _TYPE_TESTS:
        return _TYPE_TESTS[name](value) == expected
    if name == "StringMatches":
        return isinstance(value, str) and _wildcard(expected).fullmatch(value) is not None
    if name.endswith("Path"):
        name, expected = name[:-4], scope.resolve(expected, name)
    comparable, compare = _COMPARATORS[name]
    left, right = comparable(value), comparable(expected)
    return left is not None and right is not None and compare(left, right)


# ------------------------------------------------------------------------------------------------ states


@dataclass
class _Execution:
    """What every state of one execution shares: its Context and its input (`$$.Execution.Input`)."""

    context: Context
    input: Any


@dataclass
class _Visit:
    """One entry into a state; its retries count here (`$$.State.RetryCount`)."""

    execution: _Execution
    name: str
    entered_time: str
    retry_count: int = 0

    def scope(self, data: Any, map_item: tuple[int, Any] | None = None) -> _Scope:
        context = self.execution.context
        context_object: dict[str, Any] = {
            "Execution": {
                "Id": context.execution_id,
                "Name": context.execution_name,
                "StartTime": context.start_time,
                "Input": self.execution.input,
            },
            "StateMachine": {"Id": context.state_machine_id, "Name": context.state_machine_id.rsplit(":", 1)[-1]},
            "State": {"Name": self.name, "EnteredTime": self.entered_time, "RetryCount": self.retry_count},
        }
        if map_item is not None:
            context_object["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
        return _Scope(data, context_object, context.rng)


def _select(state: dict[str, Any], path_field: str, data: Any, visit: _Visit) -> Any:
    """InputPath / OutputPath: absent means `$`, null means `{}`."""
    path = state.get(path_field, "$")
    return {} if path is None else visit.scope(data).resolve(path, path_field)


def _effective_input(state: dict[str, Any], raw: Any, visit: _Visit) -> Any:
    data = _select(state, "InputPath", raw, visit)
    return _render(state["Parameters"], visit.scope(data)) if "Parameters" in state else data


def _output(state: dict[str, Any], raw: Any, result: Any, visit: _Visit) -> Any:
    """ResultSelector, ResultPath (default `$`) and OutputPath applied to a state's result."""
    if "ResultSelector" in state:
        result = _render(state["ResultSelector"], visit.scope(result))
    return _select(state, "OutputPath", _apply_result_path(raw, result, state.get("ResultPath", "$")), visit)


def _next(state: dict[str, Any]) -> str | None:
    return None if state.get("End") else state["Next"]


def _error_matches(names: list[str], error: str) -> bool:
    """States.ALL matches every catchable error; States.TaskFailed every one but States.Timeout (AWS docs)."""
    if error in UNCATCHABLE_ERRORS:
        return False
    return "States.ALL" in names or error in names or ("States.TaskFailed" in names and error != "States.Timeout")


def _retry_delay(retriers: list[dict[str, Any]], used: list[int], error: str, rng: random.Random) -> float | None:
    """The back-off before the next attempt, or None when the first matching retrier is exhausted (or none
    matches). Each retrier counts its own attempts; the delay is Interval * Backoff^n capped by MaxDelay."""
    for index, retrier in enumerate(retriers):
        if _error_matches(retrier["ErrorEquals"], error):
            if used[index] >= retrier.get("MaxAttempts", 3):
                return None
            delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** used[index]
            delay = min(delay, retrier.get("MaxDelaySeconds", delay))
            used[index] += 1
            return rng.uniform(0, delay) if retrier.get("JitterStrategy") == "FULL" else delay
    return None


def _guarded(state: dict[str, Any], raw: Any, visit: _Visit, attempt: Callable[[], Flow]) -> Flow:
    """Run attempts under the state's Retry policy, then its Catch; returns (output, next state name)."""
    retriers = state.get("Retry", [])
    used = [0] * len(retriers)
    while True:
        try:
            return (yield from attempt()), _next(state)
        except StatesError as err:
            delay = _retry_delay(retriers, used, err.error, visit.execution.context.rng)
            if delay is None:
                catcher = next((c for c in state.get("Catch", []) if _error_matches(c["ErrorEquals"], err.error)), None)
                if catcher is None:
                    raise
                error_output = {"Error": err.error, "Cause": err.cause}
                return _apply_result_path(raw, error_output, catcher.get("ResultPath", "$")), catcher["Next"]
        yield Sleep(delay, f"retry:{visit.name}")
        visit.retry_count += 1


def _pass(state: dict[str, Any], raw: Any, visit: _Visit) -> tuple[Any, str | None]:
    result = _copy(state["Result"]) if "Result" in state else _effective_input(state, raw, visit)
    return _output(state, raw, result, visit), _next(state)


def _choice(state: dict[str, Any], raw: Any, visit: _Visit) -> tuple[Any, str | None]:
    data = _select(state, "InputPath", raw, visit)
    scope = visit.scope(data)
    target = next(
        (rule["Next"] for rule in state.get("Choices", []) if _rule_matches(rule, scope)), state.get("Default")
    )
    if target is None:
        raise StatesError("States.NoChoiceMatched", f"no Choice rule of {visit.name} matched and there is no Default")
    return _select(state, "OutputPath", data, visit), target


def _succeed(state: dict[str, Any], raw: Any, visit: _Visit) -> tuple[Any, str | None]:
    return _select(state, "OutputPath", _select(state, "InputPath", raw, visit), visit), None


def _fail(state: dict[str, Any], raw: Any, visit: _Visit) -> tuple[Any, str | None]:
    scope = visit.scope(raw)
    error = _expression(state["ErrorPath"], scope, "ErrorPath") if "ErrorPath" in state else state.get("Error", "")
    cause = _expression(state["CausePath"], scope, "CausePath") if "CausePath" in state else state.get("Cause", "")
    raise StatesError(error, cause)


def _wait(state: dict[str, Any], raw: Any, visit: _Visit) -> Flow:
    data = _select(state, "InputPath", raw, visit)
    scope = visit.scope(data)
    if "Seconds" in state or "SecondsPath" in state:
        seconds = state["Seconds"] if "Seconds" in state else scope.resolve(state["SecondsPath"], "SecondsPath")
        if not _is_number(seconds) or seconds < 0:
            raise StatesError("States.Runtime", f"Wait {visit.name}: {json.dumps(seconds)} is not a number of seconds")
    else:
        text = state["Timestamp"] if "Timestamp" in state else scope.resolve(state["TimestampPath"], "TimestampPath")
        until, now = _timestamp(text), _timestamp(visit.execution.context.now())
        if until is None or now is None:
            raise StatesError("States.Runtime", f"Wait {visit.name}: {json.dumps(text)} is not a timestamp")
        seconds = max(0.0, (until - now).total_seconds())
    yield Sleep(seconds, f"wait:{visit.name}")
    return _select(state, "OutputPath", data, visit), _next(state)


def _task(state: dict[str, Any], raw: Any, visit: _Visit) -> Flow:
    def attempt() -> Flow:
        parameters = _effective_input(state, raw, visit)
        timeout = state.get("TimeoutSeconds")
        if "TimeoutSecondsPath" in state:
            timeout = visit.scope(_select(state, "InputPath", raw, visit)).resolve(
                state["TimeoutSecondsPath"], "TimeoutSecondsPath"
            )
        result = yield TaskCall(
            visit.name, state["Resource"], parameters, visit.retry_count, timeout, visit.execution.context
        )
        return _output(state, raw, _copy(result), visit)

    return (yield from _guarded(state, raw, visit, attempt))


def _map(state: dict[str, Any], raw: Any, visit: _Visit) -> Flow:
    """Inline Map: the items run one after another, in order (MaxConcurrency is accepted and ignored)."""
    selector = state.get("ItemSelector", state.get("Parameters"))
    processor = state.get("ItemProcessor", state.get("Iterator"))

    def attempt() -> Flow:
        data = _select(state, "InputPath", raw, visit)
        items = visit.scope(data).resolve(state.get("ItemsPath", "$"), "ItemsPath")
        if not isinstance(items, list):
            raise StatesError("States.Runtime", f"ItemsPath of {visit.name} selected {json.dumps(items)}, not an array")
        results = []
        for index, item in enumerate(items):
            item_input = item if selector is None else _render(selector, visit.scope(data, map_item=(index, item)))
            results.append((yield from _run_machine(processor, item_input, visit.execution)))
        return _output(state, raw, results, visit)

    return (yield from _guarded(state, raw, visit, attempt))


def _parallel(state: dict[str, Any], raw: Any, visit: _Visit) -> Flow:
    """The branches run one after another; the result is the list of their outputs."""

    def attempt() -> Flow:
        data = _effective_input(state, raw, visit)
        results = []
        for branch in state["Branches"]:
            results.append((yield from _run_machine(branch, _copy(data), visit.execution)))
        return _output(state, raw, results, visit)

    return (yield from _guarded(state, raw, visit, attempt))


_IMMEDIATE_STATES: dict[str, Callable[[dict[str, Any], Any, _Visit], tuple[Any, str | None]]] = {
    "Pass": _pass,
    "Choice": _choice,
    "Succeed": _succeed,
    "Fail": _fail,
}
_EFFECTFUL_STATES: dict[str, Callable[[dict[str, Any], Any, _Visit], Flow]] = {
    "Task": _task,
    "Wait": _wait,
    "Map": _map,
    "Parallel": _parallel,
}
SUPPORTED_STATE_TYPES = frozenset({*_IMMEDIATE_STATES, *_EFFECTFUL_STATES})


def _run_machine(machine: dict[str, Any], data: Any, execution: _Execution) -> Flow:
    """Run a state machine (the execution's, a Map iteration's or a Parallel branch's) to its output."""
    name: str | None = machine["StartAt"]
    while name is not None:
        state = machine["States"].get(name)
        if state is None:
            raise StatesError("States.Runtime", f"no state named {name!r}")
        visit = _Visit(execution, name, execution.context.now())
        kind = state["Type"]
        if kind in _IMMEDIATE_STATES:
            data, name = _IMMEDIATE_STATES[kind](state, data, visit)
        elif kind in _EFFECTFUL_STATES:
            data, name = yield from _EFFECTFUL_STATES[kind](state, data, visit)
        else:
            raise StatesError("States.Runtime", f"unsupported state type {kind!r}")
    return data


def run(definition: dict[str, Any], input: Any, context: Context) -> Generator[TaskCall | Sleep, Any, Any]:
    """Execute `definition` on `input`: yields every effect, returns the execution's output, and raises
    `ExecutionFailed` when it ends in a Fail state or an uncaught error."""
    execution = _Execution(context, _copy(input))
    try:
        return (yield from _run_machine(definition, execution.input, execution))
    except StatesError as err:
        raise ExecutionFailed(err.error, err.cause) from err
