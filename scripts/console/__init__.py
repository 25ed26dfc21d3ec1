"""`invoke console --env E [--port 8765]`: a local web console of a deployed env for operators (docs/operations.md).

Served on 127.0.0.1 only (a threaded wsgiref server), for members of the user pool's `admins` group
(scripts/console/auth.py). Pages: orders (filters, paging), an order with its trace and each execution's graph with
the path it took, stock, dead-letter queues and alarms, the audit trail. Actions (confirmed, audited): cancel,
refund, restock, redrive a DLQ (scripts/console/views.py).
"""

from __future__ import annotations

import logging
import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from scripts.common import UserError

DEFAULT_PORT = 8765
HOST = "127.0.0.1"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logging.getLogger("orderflow.console.http").info("%s %s", self.address_string(), format % args)


def build_app(env: str, port: int) -> Any:
    """The console application of a deployed env (its outputs, its cloud's clients, its user pool)."""
    from scripts import local_cloud
    from scripts.api_client import ApiClient
    from scripts.auth import UserPool
    from scripts.aws_session import aws_client, region, session
    from scripts.common import check_env, env_build_dir, is_local, read_outputs
    from scripts.console import auth
    from scripts.console.app import ConsoleApp
    from scripts.console.audit import AuditLog
    from scripts.console.views import Console, operator_events_client

    check_env(env)
    outputs = read_outputs(env)
    pool = UserPool.of(env)  # one-sentence errors: no pool in the outputs, local cloud not running
    boto = session(env)
    resource_kwargs = {"endpoint_url": local_cloud.endpoint()} if is_local(env) else {}
    console = Console(
        env=env,
        outputs=outputs,
        client=lambda service: aws_client(env, service),
        resource=lambda service: boto.resource(service, **resource_kwargs),
        api=ApiClient(outputs["api_url"]),
        operator_events=operator_events_client(env, outputs),
    )
    verifier = auth.TokenVerifier(
        issuer=auth.issuer(region(env), pool.pool_id),
        client_id=pool.client_id,
        jwks_url=auth.jwks_url(region(env), pool.pool_id, local_cloud.endpoint() if is_local(env) else None),
    )
    audit = AuditLog(env_build_dir(env) / "audit" / "console.jsonl")
    return ConsoleApp(
        console,
        verifier,
        audit,
        lambda username, password: auth.sign_in(pool.cognito, pool.client_id, username, password),
        port=port,
    )


def serve(env: str, port: int = DEFAULT_PORT, ready: Any = None) -> None:
    """Serve the console on 127.0.0.1:`port` until interrupted; `ready(url)` is called once it listens."""
    if not 1 <= port <= 65535:
        raise UserError(f"Port {port} is not a TCP port: use 1-65535 (default {DEFAULT_PORT}).")
    app = build_app(env, port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        server = make_server(HOST, port, app, server_class=_Server, handler_class=_Handler)
    except OSError as exc:
        raise UserError(f"Cannot listen on {HOST}:{port} ({exc.strerror}): pass another --port.") from None
    url = f"http://{HOST}:{port}/"
    print(f"Console of env {env}: {url} (operators of the admins group sign in; Ctrl-C stops)", flush=True)
    if ready:
        ready(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
