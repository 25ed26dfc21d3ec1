"""The stack's public HTTP API as a client sees it (docs/api.md): urllib only, thread-safe, a Cognito ID token per
request; used by the e2e suite and `invoke bench`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def __repr__(self) -> str:
        return f"<HTTP {self.status} {self.body[:300]!r}>"


class ApiClient:
    """The stack's public HTTP API (outputs.api_url), over urllib: no third-party dependency, thread-safe.

    Every route needs the caller's Cognito ID token (docs/auth.md): pass it as `token`, it is sent as
    `Authorization: Bearer <token>`; without one API Gateway answers 401.

    `contract`: called with (method, path, status, body) of every response received, e.g. the e2e suite's
    `scripts.api_contract.ResponseLog.record`, which checks it against the OpenAPI document."""

    def __init__(
        self, base_url: str, timeout: float = 30.0, contract: Callable[[str, str, int, bytes], None] | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.contract = contract

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        retries: int = 2,
        token: str | None = None,
    ) -> Response:
        """One request; connection errors (not HTTP errors) are retried `retries` times, then raised."""
        data = body.encode() if isinstance(body, str) else body
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        path = path if path.startswith("/") else "/" + path
        url = self.base_url + path
        for attempt in range(retries + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
            started = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return self._received(
                        method,
                        path,
                        Response(resp.status, dict(resp.headers.items()), resp.read(), time.monotonic() - started),
                    )
            except urllib.error.HTTPError as exc:
                return self._received(
                    method,
                    path,
                    Response(
                        exc.code,
                        dict(exc.headers.items()) if exc.headers else {},
                        exc.read(),
                        time.monotonic() - started,
                    ),
                )
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt >= retries:
                    raise ConnectionError(f"{method} {url}: {exc}") from exc
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _received(self, method: str, path: str, response: Response) -> Response:
        if self.contract is not None:
            self.contract(method, path, response.status, response.body)
        return response

    def create_order(
        self, payload: dict[str, Any], idempotency_key: str | None = None, token: str | None = None
    ) -> Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        # Never retried: a lost response with a retry would create a second order (the caller decides).
        return self.request("POST", "/orders", json_body=payload, headers=headers, retries=0, token=token)

    def get_order(self, order_id: str, token: str | None = None) -> Response:
        return self.request("GET", f"/orders/{order_id}", token=token)

    def customer_orders(self, customer_id: str, token: str | None = None) -> Response:
        return self.request("GET", f"/customers/{customer_id}/orders", token=token)

    def cancel_order(self, order_id: str, token: str | None = None) -> Response:
        return self.request("DELETE", f"/orders/{order_id}", retries=0, token=token)


def order_payload(customer_id: str, items: Sequence[tuple[str, int, str | float]]) -> dict[str, Any]:
    """A POST /orders body; prices as numbers with two decimals, totalAmount the exact sum. The prices are
    expectations: they must be the catalogue's (the inventory items' `price`), or the API answers 409."""
    lines = [{"productId": pid, "quantity": int(qty), "price": float(Decimal(str(price)))} for pid, qty, price in items]
    total = sum((Decimal(str(price)) * int(qty) for _, qty, price in items), Decimal(0)).quantize(Decimal("0.01"))
    return {"customerId": customer_id, "items": lines, "totalAmount": float(total)}
