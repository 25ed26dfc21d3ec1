"""The console's WSGI application (Werkzeug request/response and routing, Jinja2 templates, no JavaScript).

Every route but the sign-in page needs the session cookie holding an operator's ID token, verified on every request
(scripts/console/auth.py); every POST needs the session's CSRF token. Actions go through a confirmation page: the
first POST validates the form and shows what will happen (bad input: a message, nothing changed), the second POST
(`confirm=yes`) validates again, acts, and writes the audit record.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from scripts.common import UserError
from scripts.console.audit import AuditLog
from scripts.console.auth import AuthError, TokenVerifier, csrf_ok, csrf_token
from scripts.console.views import ORDER_STATUSES, BadInput, Console, money
from scripts.console.views import NotFound as MissingItem

SESSION_COOKIE = "orderflow_console"
LOGIN_CSRF_COOKIE = "orderflow_console_login"
ACTIONS = ("cancel", "refund", "restock", "redrive")
TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger("orderflow.console")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ConsoleApp:
    def __init__(
        self,
        console: Console,
        verifier: TokenVerifier,
        audit: AuditLog,
        sign_in: Any,  # (username, password) -> ID token, raising AuthError
        *,
        port: int,
        secret: bytes | None = None,
    ) -> None:
        self.console, self.verifier, self.audit, self.sign_in = console, verifier, audit, sign_in
        self.secret = secret or secrets.token_bytes(32)
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.jinja = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
        self.jinja.filters["money"] = money
        self.urls = Map(
            [
                Rule("/", endpoint="home"),
                Rule("/login", endpoint="login", methods=["GET", "POST"]),
                Rule("/logout", endpoint="logout", methods=["POST"]),
                Rule("/orders", endpoint="orders"),
                Rule("/orders/<order_id>", endpoint="order"),
                Rule("/stock", endpoint="stock"),
                Rule("/queues", endpoint="queues"),
                Rule("/queues/<queue>", endpoint="queue"),
                Rule("/audit", endpoint="audit_page"),
                Rule("/actions/<action>", endpoint="action", methods=["POST"]),
            ]
        )

    # --- plumbing ----------------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = self.page("error.html", None, status=exc.code or 500, title=exc.name, message=exc.description)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def dispatch(self, request: Request) -> Response:
        if request.host not in self.hosts:
            return Response("This console answers only http://127.0.0.1 and http://localhost.\n", status=421)
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin and origin != "null" and urlsplit(origin).netloc not in self.hosts:
                return self.page(
                    "error.html", None, status=403, title="Forbidden", message="Cross-origin POST refused."
                )
        adapter = self.urls.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            endpoint, args = None, {}
        except MethodNotAllowed as exc:
            raise exc from None
        if endpoint == "login":
            return self.login(request)
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return self.to_login(request, None)
        try:
            claims = self.verifier.verify(token)
        except AuthError as exc:
            return self.to_login(request, str(exc), clear=True)
        if endpoint is None:
            raise NotFound()
        session = {
            "token": token,
            "claims": claims,
            "user": claims.get("cognito:username", "?"),
            "csrf": csrf_token(self.secret, token),
        }
        if request.method == "POST" and not csrf_ok(self.secret, token, request.form.get("csrf")):
            return self.page(
                "error.html",
                session,
                status=403,
                title="Forbidden",
                message="The form's CSRF token is missing or wrong: reload the page and try again.",
            )
        try:
            return getattr(self, endpoint)(request, session, **args)
        except BadInput as exc:
            return self.page("error.html", session, status=400, title="Bad input", message=str(exc))
        except MissingItem as exc:
            return self.page("error.html", session, status=404, title="Not found", message=str(exc))
        except UserError as exc:
            return self.page("error.html", session, status=502, title="Cannot do that", message=str(exc))

    def page(self, template: str, session: dict[str, Any] | None, status: int = 200, **context: Any) -> Response:
        html = self.jinja.get_template(template).render(session=session, env=self.console.env, **context)
        return Response(html, status=status, mimetype="text/html")

    def to_login(self, request: Request, message: str | None, clear: bool = False) -> Response:
        """No session: a GET goes to the sign-in page (with the reason, if the token was refused), a POST is 401."""
        if request.method == "POST":
            response = self.page("error.html", None, status=401, title="Sign in", message=message or "Sign in first.")
        elif message:
            response = self.login_form(message, status=401)
        else:
            response = redirect("/login", code=303)
        if clear:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def login_form(self, message: str | None = None, status: int = 200) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = self.page("login.html", None, status=status, message=message, nonce=nonce)
        response.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/login")
        return response

    # --- pages -------------------------------------------------------------------------------------------------------

    def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self.login_form()
        nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not nonce or not secrets.compare_digest(nonce, request.form.get("nonce", "")):
            return self.login_form("The sign-in form expired: try again.", status=403)
        token = request.form.get("token", "").strip()
        username, password = request.form.get("username", "").strip(), request.form.get("password", "")
        try:
            if not token:
                if not username or not password:
                    raise AuthError("Enter a user name and password, or paste an ID token.")
                token = self.sign_in(username, password)
            claims = self.verifier.verify(token)
        except AuthError as exc:
            return self.login_form(str(exc), status=401)
        log.info("console sign-in: %s", claims.get("cognito:username"))
        response = redirect("/orders", code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    def logout(self, request: Request, session: dict[str, Any]) -> Response:
        response = redirect("/login", code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def home(self, request: Request, session: dict[str, Any]) -> Response:
        return redirect("/orders", code=303)

    def orders(self, request: Request, session: dict[str, Any]) -> Response:
        args = {k: request.args.get(k, "") for k in ("status", "customer", "since", "until")}
        result = self.console.orders(page=request.args.get("page"), **args)
        return self.page("orders.html", session, result=result, filters=args, statuses=ORDER_STATUSES)

    def order(self, request: Request, session: dict[str, Any], order_id: str) -> Response:
        order = self.console.order(order_id)
        trace = self.console.trace(order["orderId"])
        graphs = self.console.execution_graphs(order)
        return self.page("order.html", session, order=order, trace=trace, graphs=graphs)

    def stock(self, request: Request, session: dict[str, Any]) -> Response:
        return self.page("stock.html", session, products=self.console.stock())

    def queues(self, request: Request, session: dict[str, Any]) -> Response:
        return self.page(
            "queues.html",
            session,
            rows=self.console.dlq_rows(),
            alarms=self.console.alarms(),
            local=self.console.env == "local",
        )

    def queue(self, request: Request, session: dict[str, Any], queue: str) -> Response:
        return self.page("queue.html", session, queue=queue, messages=self.console.dlq_messages(queue))

    def audit_page(self, request: Request, session: dict[str, Any]) -> Response:
        return self.page("audit.html", session, records=self.audit.read(), path=self.audit.path)

    def action(self, request: Request, session: dict[str, Any], action: str) -> Response:
        if action not in ACTIONS:
            raise BadInput(f"Unknown action {action!r}: {', '.join(ACTIONS)}.")
        form = {k: v for k, v in request.form.items() if k not in ("csrf", "confirm")}
        checked = self.console.check(action, form)  # BadInput / NotFound: the error page, nothing changed
        if request.form.get("confirm") != "yes":
            return self.page("confirm.html", session, action=action, form=form, what=checked["what"])
        params = {k: v for k, v in checked.items() if k != "what"}
        try:
            outcome = self.console.do(action, params, session["token"])
        except Exception as exc:  # noqa: BLE001 - reported to the operator and audited
            outcome = {"ok": False, "message": f"{type(exc).__name__}: {exc}"}
        self.audit.record(
            who=session["user"],
            sub=session["claims"].get("sub"),
            action=action,
            params=params,
            result="ok" if outcome["ok"] else "failed",
            message=outcome["message"],
        )
        back = (
            f"/orders/{params['orderId']}" if "orderId" in params else ("/stock" if action == "restock" else "/queues")
        )
        return self.page(
            "result.html", session, status=200 if outcome["ok"] else 502, action=action, outcome=outcome, back=back
        )
