"""orderflow tasks: `invoke --list`. Each task delegates to a module under scripts/."""

from invoke import Collection, Exit, task

from scripts.cli import friendly

ENV_HELP = {"env": "local (the local cloud), dev or prod: terraform/envs/<env>.tfvars"}


@task(help={"force": "rebuild every zip even when up to date"})
@friendly
def build(c, force=False):
    """Build one deterministic zip per service into build/dist/ and write build/manifest.json."""
    from scripts import build as b

    b.build(force=force)


@task(
    help={
        **ENV_HELP,
        "order_workflow_type": "STANDARD or EXPRESS: the order workflow's type for this run (default: the env's tfvars; also $ORDERFLOW_ORDER_WORKFLOW_TYPE)",
    }
)
@friendly
def render(c, env="local", order_workflow_type=""):
    """Render the workflow templates into build/<env>/workflow/."""
    from scripts import aws_session, stack
    from scripts import render as r
    from scripts.common import check_env

    check_env(env)
    stack.override_order_workflow_type(env, order_workflow_type)
    for name, path in r.render_workflows(
        env,
        region=aws_session.region(env),
        account_id=aws_session.account_id(env),
        order_workflow_type=stack.order_workflow_type(env),
    ).items():
        print(f"{name}: {path}")


@task(help=ENV_HELP)
@friendly
def diagram(c, env="local"):
    """Draw each workflow's graph as an SVG under build/<env>/diagrams/."""
    from scripts import diagram as d

    for path in d.render_diagrams(env):
        print(path)


@task(help={"env": "a deployed env whose outputs' api_url becomes the document's server (default: a template)"})
@friendly
def openapi(c, env=""):
    """Write the HTTP API's OpenAPI 3.1 document to build/openapi.json (import it into Postman, Bruno, a generator)."""
    from scripts import openapi as o
    from scripts.common import check_env, read_outputs

    print(o.write(server_url=read_outputs(check_env(env))["api_url"] if env else None))


@task(
    help={
        **ENV_HELP,
        "yes": "do not ask for confirmation (prod)",
        "order_workflow_type": "STANDARD or EXPRESS: the order workflow's type for this run (default: the env's tfvars; also $ORDERFLOW_ORDER_WORKFLOW_TYPE)",
    }
)
@friendly
def deploy(c, env="local", yes=False, order_workflow_type=""):
    """Build, render, terraform init + apply; outputs to build/<env>/outputs.json; then warm every function (invoke warm)."""
    from scripts import stack

    stack.override_order_workflow_type(env, order_workflow_type)
    stack.deploy(env, yes=yes)


@task(
    help={
        **ENV_HELP,
        "concurrency": "orders the coming load keeps in flight, as bench's --concurrency (default 10): each function "
        "gets that many times 2 workers",
        "workers": "workers per function, exactly (overrides --concurrency)",
    }
)
@friendly
def warm(c, env="local", concurrency=0, workers=0):
    """Start every function's workers before the load: N concurrent no-op warm-up invocations each, two rounds."""
    from scripts import warmup

    warmup.warm(env, concurrency=int(concurrency) or None, workers=int(workers) or None)


@task(
    help={
        **ENV_HELP,
        "order_workflow_type": "STANDARD or EXPRESS: the order workflow's type for this run (default: the env's tfvars; also $ORDERFLOW_ORDER_WORKFLOW_TYPE)",
    }
)
@friendly
def plan(c, env="local", order_workflow_type=""):
    """terraform plan; exits 0 when there are no changes, 2 when there are."""
    from scripts import stack

    stack.override_order_workflow_type(env, order_workflow_type)
    code = stack.plan(env)
    if code:
        raise Exit(code=code)


@task(
    help={
        **ENV_HELP,
        "yes": "required for prod",
        "order_workflow_type": "STANDARD or EXPRESS: the order workflow's type for this run (default: the env's tfvars; also $ORDERFLOW_ORDER_WORKFLOW_TYPE)",
    }
)
@friendly
def destroy(c, env="local", yes=False, order_workflow_type=""):
    """terraform destroy: remove everything the env created."""
    from scripts import stack

    stack.override_order_workflow_type(env, order_workflow_type)
    stack.destroy(env, yes=yes)


@task(help=ENV_HELP)
@friendly
def preflight(c, env="local"):
    """Check the account, region, quotas, workflows and IAM policies before a deploy; a table of pass/FAIL and what to do."""
    from scripts import preflight as p

    p.require(env)


@task(name="bootstrap-state", help=ENV_HELP)
@friendly
def bootstrap_state(c, env="dev"):
    """Create the S3 state bucket and DynamoDB lock table for a real-AWS env."""
    from scripts import stack

    stack.bootstrap_state(env)


@task(help=ENV_HELP)
@friendly
def seed(c, env="local"):
    """Load the product catalogue with stock into the inventory table."""
    from scripts import seed as s

    s.seed(env)


@task(help={**ENV_HELP, "port": "port on 127.0.0.1 (default 8765)"})
@friendly
def console(c, env="local", port=8765):
    """A local web console for operators (admins group): orders, traces and graphs, stock, DLQs, confirmed actions."""
    from scripts import console as web_console

    web_console.serve(env, port=int(port))


@task(
    help={
        **ENV_HELP,
        "email": "the customer's e-mail address (required)",
        "customer_id": "customer id = Cognito username (default: the e-mail's local part, sanitized)",
        "admin": "add the user to the `admins` group (may read, list and cancel any order)",
    }
)
@friendly
def customer(c, env="local", email="", customer_id="", admin=False):
    """Create (or reuse) a customer in the stack's user pool and print an ID token for the API (stdout: token only)."""
    from scripts import auth

    auth.cli(env, email=email, customer_id=customer_id or None, admin=admin)


@task(
    help={
        **ENV_HELP,
        "k": "pytest -k expression to run a subset",
        "m": "pytest -m marker expression, e.g. express (the subset CI runs on an EXPRESS order workflow)",
    }
)
@friendly
def e2e(c, env="local", k="", m=""):
    """End-to-end order scenarios against the deployed stack; reports in build/<env>/reports/."""
    from scripts import e2e as e

    code = e.run(env, keyword=k, marker=m)
    if code:
        raise Exit(code=code)


@task(help={**ENV_HELP, "since": "ISO-8601 start (default: 1 hour ago)", "until": "ISO-8601 end (default: now)"})
@friendly
def replay(c, env="local", since="", until=""):
    """Replay archived events from the bus archive and report what was replayed."""
    from scripts import replay as r

    r.replay(env, since=since or None, until=until or None)


@task(
    help={**ENV_HELP, "order_id": "the orderId POST /orders answered", "json": "print JSON for scripts"},
    positional=["order_id"],
)
@friendly
def trace(c, order_id, env="local", json=False):
    """One timeline of an order: API request, bus events, workflow states, log lines, payment, stock, notifications."""
    from scripts import trace as order_trace

    order_trace.run(env, order_id, as_json=json)


@task(
    help={
        **ENV_HELP,
        "order": "follow this order's status changes to its end",
        "interval": "seconds between refreshes (default 1)",
        "once": "print one view and exit (for scripts)",
    }
)
@friendly
def watch(c, env="local", order="", interval=1.0, once=False):
    """Live view of orders in flight and counts per status until Ctrl-C; --order follows one order to its end."""
    from scripts import watch as live_view

    live_view.run(env, order_id=order or None, interval=float(interval), once=once)


@task(
    help={
        **ENV_HELP,
        "target": "a service (order, payment, inventory, notification) or a workflow (order-processing, ...)",
        "follow": "keep printing new lines until Ctrl-C",
        "order": "only the lines of this order (its correlation id)",
        "since": "how far back: 10m (default), 2h, 1d, or an ISO-8601 time",
    },
    positional=["target"],
)
@friendly
def logs(c, target, env="local", follow=False, order="", since="10m"):
    """CloudWatch Logs of a service or workflow, pretty-printed from Powertools' JSON, filtered by order."""
    from scripts import logs as log_lines

    log_lines.run(env, target, follow=follow, order_id=order or None, since=since)


@task(name="list", default=True, help={**ENV_HELP, "json": "print JSON for scripts"})
@friendly
def dlq_list(c, env="local", json=False):
    """Every dead-letter queue: depth, in flight, the oldest message's age, and where a redrive delivers it."""
    from scripts import dlq

    dlq.run(env, "list", as_json=json)


@task(
    name="show",
    help={
        **ENV_HELP,
        "queue": "the queue's key, as `invoke dlq` lists it",
        "count": "how many (default 10)",
        "json": "JSON",
    },
    positional=["queue"],
)
@friendly
def dlq_show(c, queue, env="local", count=0, json=False):
    """Decode a dead-letter queue's messages (the original event, the error, the attempts); nothing is consumed."""
    from scripts import dlq

    dlq.run(env, "show", queue, count=int(count), as_json=json)


@task(
    name="redrive",
    help={**ENV_HELP, "queue": "the queue's key", "count": "at most this many (default: all)", "json": "JSON"},
    positional=["queue"],
)
@friendly
def dlq_redrive(c, queue, env="local", count=0, json=False):
    """Deliver each message of a dead-letter queue again to its own target, once, and delete it only after."""
    from scripts import dlq

    dlq.run(env, "redrive", queue, count=int(count), as_json=json)


@task(
    name="redrive-execution",
    help={
        **ENV_HELP,
        "arn": "the failed execution's ARN",
        "restart": "start a new execution with the same input (where RedriveExecution is missing or refused)",
        "json": "print JSON for scripts",
    },
    positional=["arn"],
)
@friendly
def redrive_execution(c, arn, env="local", restart=False, json=False):
    """Step Functions RedriveExecution of a failed execution (or --restart: a new one with the same input)."""
    from scripts import executions

    executions.run(env, arn, restart=restart, as_json=json)


@task(
    help={
        **ENV_HELP,
        "orders": "number of orders",
        "concurrency": "parallel clients",
        "duration": "stop submitting after this many seconds (0: no limit)",
        "seed": "random seed",
        "lines": "order lines per order, 1..50 (default 0: 1-3 lines)",
        "hot_product": "every order's lines include one product (contention on its stock item)",
    }
)
@friendly
def bench(c, env="local", orders=100, concurrency=10, duration=0, seed=7, lines=0, hot_product=False):
    """Load generator: throughput and latency p50/p95/p99 end to end and per stage, with a baseline; the targets."""
    from scripts import bench as b

    b.run(
        env,
        orders=int(orders),
        concurrency=int(concurrency),
        duration=float(duration),
        seed=int(seed),
        lines=int(lines),
        hot_product=bool(hot_product),
    )


@task(
    help={
        **ENV_HELP,
        "seed": "random seed of every run",
        "json": "print the JSON instead of the markdown table",
        "warm_up": "start with a warm-up run left out of the table (default; --no-warm-up measures cold workers)",
    }
)
@friendly
def scaling(c, env="local", seed=7, json=False, warm_up=True):
    """How cost grows with work: one bench run per shape (clients, lines, contention), one markdown table."""
    from scripts import scaling as s

    s.run(env, seed=int(seed), as_json=json, warm_up=warm_up)


@task(
    name="imports",
    help={
        "runs": "fresh interpreters per measurement (default 9; the median is shown)",
        "detail": "also list each handler's heaviest imports (python -X importtime)",
        "json": "print JSON for scripts",
    },
)
@friendly
def imports(c, runs=9, detail=False, json=False):
    """Cold import time of each built zip's handler module against a bare `import boto3` (target <= 2x)."""
    from scripts import import_cost

    import_cost.run(int(runs), detail=detail, as_json=json)


@task(
    name="cost",
    help={**ENV_HELP, "orders_per_month": "price this many orders a month (default: 1 k, 100 k and 10 M)"},
)
@friendly
def cost(c, env="local", orders_per_month=0):
    """The monthly bill per component (Standard and Express workflows) from the latest bench's per-order counts."""
    from scripts import cost as k

    k.run(env, orders_per_month=int(orders_per_month))


@task(
    help={
        "schedules": "how many seeded schedules to explore (default 2000)",
        "seed": "base seed: schedule i uses a seed derived from it (default: the one CI uses)",
        "replay": "run exactly this one schedule seed (printed for a failing schedule) and print its trace",
        "workers": "worker processes (default: one per core)",
    }
)
@friendly
def simulate(c, schedules=0, seed=-1, replay=-1, workers=0):
    """Explore saga interleavings with faults (seeded, replayable); fails with the seeds of any violation."""
    from scripts import checks

    checks.simulation(
        schedules=int(schedules) or checks.CI_SCHEDULES,
        seed=checks.CI_SEED if int(seed) < 0 else int(seed),
        replay=int(replay) if int(replay) >= 0 else None,
        workers=int(workers) or None,
    )


@task(
    help={
        "paths": "files or folders inside services/, comma-separated (default: all of services/)",
        "max": "judge a seeded sample of at most this many mutants (default: every mutant)",
        "seed": "the sample's seed (default: the one CI uses)",
        "workers": "parallel mutant workers (default: one per core)",
        "resume": "keep the previous report's kills of unchanged functions; judge survivors and changes again",
        "tests": "only these test files/folders, comma-separated (a quick look at one module; default: unit, "
        "then simulation suite)",
        "budget": "stop after this many minutes and report what was judged; --resume goes on (default: none)",
        "simulation": "judge the unit suite's survivors by the simulation suite too (default; --no-simulation: "
        "the unit suite alone, a score that can only be lower)",
    }
)
@friendly
def mutate(c, paths="", max=0, seed=-1, workers=0, resume=False, tests="", budget=0.0, simulation=True):
    """Mutation testing of services/ (mutmut): score and survivors, also in build/mutation/; fails under 85%."""
    from scripts import mutation

    mutation.run(
        [p.strip() for p in paths.split(",") if p.strip()] or None,
        max_mutants=int(max) or None,
        seed=mutation.CI_SEED if int(seed) < 0 else int(seed),
        workers=int(workers) or None,
        resume=resume,
        tests=[t.strip() for t in tests.split(",") if t.strip()] or None,
        simulation=simulation,
        budget_minutes=float(budget) or None,
    )


@task(name="mutate-terraform", help={"workers": "mutants judged in parallel (default 2)"})
@friendly
def mutate_terraform(c, workers=2):
    """Deliberate bugs in terraform/ (scripts/terraform_mutants.py), each of which `terraform test` must reject."""
    from scripts import terraform_mutants

    terraform_mutants.run(workers=int(workers))


@task
@friendly
def scan(c):
    """checkov over terraform/ (0 failed checks expected)."""
    from scripts import checks

    checks.scan()


# --- local cloud -------------------------------------------------------------------------------------------------


@task(name="up", help={"port": "port (default $ORDERFLOW_LOCAL_PORT or 4566)"})
@friendly
def local_up(c, port=0):
    """Start MiniStack in the background and wait until it is healthy."""
    from scripts import local_cloud

    local_cloud.up(int(port) or None)


@task(name="down", help={"port": "port"})
@friendly
def local_down(c, port=0):
    """Stop MiniStack with SIGTERM (its state is saved)."""
    from scripts import local_cloud

    local_cloud.down(int(port) or None)


@task(name="status", help={"port": "port"})
@friendly
def local_status(c, port=0):
    """Is the local cloud up?"""
    from scripts import local_cloud

    if not local_cloud.status(int(port) or None):
        raise Exit(code=1)


@task(name="reset", help={"port": "port"})
@friendly
def local_reset(c, port=0):
    """Delete every resource in the local cloud."""
    from scripts import local_cloud

    local_cloud.reset(int(port) or None)


# --- tests ---------------------------------------------------------------------------------------------------------


@task(name="all", default=True)
@friendly
def test_all(c):
    """Everything CI runs: unit, simulation, the mutation sample, terraform, scan, workflow and e2e (local cloud)."""
    from scripts import checks

    checks.run_all()


@task(name="lint")
@friendly
def test_lint(c):
    """ruff lint and format check of scripts/, services/, tests/ and tasks.py (as CI and pre-commit run it)."""
    from scripts import checks

    checks.lint()


@task(name="unit")
@friendly
def test_unit(c):
    """Unit tests (moto, no network) with coverage >= 90% of services/."""
    from scripts import checks

    checks.unit()


@task(name="mutation")
@friendly
def test_mutation(c):
    """CI's bounded mutation pass: a fixed seeded sample of services/ mutants, unit suite, >= 85% killed."""
    from scripts import checks

    checks.mutation_sample()


@task(name="simulation")
@friendly
def test_simulation(c):
    """The simulation suite: ASL interpreter tests, named regression interleavings, then 2,000 seeded schedules."""
    from scripts import checks

    checks.simulation_tests()
    checks.simulation()


@task(name="terraform")
@friendly
def test_terraform(c):
    """terraform fmt -check, validate and `terraform test` (mock provider, offline)."""
    from scripts import checks

    checks.terraform()


@task(name="workflow")
@friendly
def test_workflow(c):
    """Step Functions workflows on the local cloud (mocked and real Lambdas)."""
    from scripts import checks

    checks.workflow()


@task(name="e2e")
@friendly
def test_e2e(c):
    """Local cloud up, deploy --env local, e2e, plan (no changes), destroy, down."""
    from scripts import checks

    checks.local_e2e()


ns = Collection(
    build,
    render,
    diagram,
    openapi,
    preflight,
    deploy,
    warm,
    plan,
    destroy,
    bootstrap_state,
    seed,
    customer,
    e2e,
    replay,
    bench,
    imports,
    scaling,
    cost,
    trace,
    watch,
    logs,
    console,
    redrive_execution,
    simulate,
    mutate,
    mutate_terraform,
    scan,
)
ns.add_collection(Collection("dlq", dlq_list, dlq_show, dlq_redrive))
ns.add_collection(Collection("local", local_up, local_down, local_status, local_reset))
ns.add_collection(
    Collection(
        "test", test_all, test_lint, test_unit, test_simulation, test_mutation, test_terraform, test_workflow, test_e2e
    )
)
