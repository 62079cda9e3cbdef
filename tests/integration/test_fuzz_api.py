"""API fuzzing with schemathesis against the app's own OpenAPI schema, in process (ASGI), on
SQLite and on PostgreSQL + Redis, with real API keys.

Every operation gets valid (positive) and invalid (negative) requests generated from its schema;
each response must not be a 5xx, must match the schema the route declares, and every error must
have the one error shape `{"error": {"code", "message"[, "field"]}}`. Generation is derandomized
(the same requests each run) and bounded per operation, so the suite stays within its CI budget;
RF_FUZZ_EXAMPLES raises the bound for a longer run on demand.

A failure found here is fixed at its cause and gets a plain regression test (the exact request)
in tests/integration/test_fuzz_regressions.py."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis  # the `test` extra; a missing install fails here rather than skipping
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.governance import likeness
from reelforge.worker.loop import Worker
from tests.governance.test_moderated_jobs import ASTRONAUT
from tests.helpers import wait_for

EXAMPLES = int(os.environ.get("RF_FUZZ_EXAMPLES", "8"))
# CI generates the same requests every run; RF_FUZZ_RANDOM=1 explores new ones (on demand).
DERANDOMIZE = os.environ.get("RF_FUZZ_RANDOM", "") != "1"
SUBMIT = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
INPUT_FIELDS = (
    "mode",
    "image_upload_id",
    "last_image_upload_id",
    "image_url",
    "last_image_url",
    "extend_from",
)
HARMFUL = "a graphic video of a man being beheaded, blood everywhere"
# Routes whose generated requests cannot finish by themselves or would need a network:
# none today (an unknown id ends an event stream with 404 before it starts).
SKIP: set[str] = set()


def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx with a JSON body is `{"error": {"code": str, "message": str, ...}}`."""
    if response.status_code < 400:
        return None
    kind = response.headers.get("content-type", [""])
    kind = (kind[0] if isinstance(kind, list) else kind).split(";")[0].strip()
    assert kind == "application/json", f"error answered as {kind!r}, not JSON"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"error body {body!r}"
    error = body["error"]
    assert isinstance(error, dict), f"error body {body!r}"
    assert isinstance(error.get("code"), str) and error["code"], f"no error code: {body!r}"
    assert isinstance(error.get("message"), str) and error["message"], f"no message: {body!r}"
    assert error["code"] != "http_error", f"an error without its own code: {body!r}"
    return True


CHECKS = [not_a_server_error, response_schema_conformance, error_shape]


@dataclass
class FuzzRun:
    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    ok_ops: set[str] = field(default_factory=set)  # operations that answered a 2xx


@dataclass
class FuzzTarget:
    app: Any
    user: dict[str, str]  # headers with an ordinary key
    admin: dict[str, str]  # headers with an operator's key
    ids: dict[str, str]  # path parameter → a real object's id


@pytest.fixture
def fuzz_target(platform: Platform) -> Iterator[FuzzTarget]:
    """The app with real keys and real objects: a succeeded job and an upload of the user's,
    a review (a blocked job's appeal) and a likeness subject for the operators."""
    user_key = accounts.create_api_key(platform, "fuzz-user").key
    admin_key = accounts.create_api_key(platform, "fuzz-admin", admin=True).key
    user = {"Authorization": f"Bearer {user_key}"}
    admin = {"Authorization": f"Bearer {admin_key}"}
    app = create_app(platform)
    with TestClient(app) as c:
        upload = c.post(
            "/v1/uploads", headers=user, files={"file": ("a.jpg", ASTRONAUT, "image/jpeg")}
        ).json()
        job = c.post("/v1/videos", headers=user, json=SUBMIT).json()
        worker = Worker(platform).start()
        try:
            wait_for(
                lambda: (
                    c.get(f"/v1/videos/{job['id']}", headers=user).json()["status"] == "succeeded"
                )
            )
        finally:
            worker.stop()
        blocked = c.post("/v1/videos", headers=user, json={**SUBMIT, "prompt": HARMFUL}).json()
        c.post(f"/v1/videos/{blocked['id']}/appeal", headers=user, json={"message": "art"})
        (review,) = c.get("/v1/admin/reviews", headers=admin).json()["data"]
    person = likeness.enroll(platform, "Eileen Collins", [ASTRONAUT])
    yield FuzzTarget(
        app,
        user,
        admin,
        {
            "video_id": job["id"],
            "job_id": job["id"],
            "upload_id": upload["id"],
            "review_id": review["id"],
            "person_id": person["id"],
            "name": "video.mp4",
        },
    )


def _towards_real_models(case: Any, pick: bool) -> Any:
    """Half the valid submit bodies name a model that exists, so generation gets past
    `unknown_model` into the checks behind it."""
    submit = case.method.upper() == "POST" and case.path in ("/v1/videos", "/v1/quotes")
    if pick and submit and isinstance(case.body, dict):
        for name in INPUT_FIELDS:  # a text-to-video request: inputs need objects of their own
            case.body.pop(name, None)
        case.body["model"] = "gradient"
        case.body.setdefault("prompt", "a gradient")
    return case


def _fuzz_operation(op: Any, strategy: Any, headers: dict[str, str], run: FuzzRun) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Any) -> None:
        run.requests += 1
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        run.statuses[response.status_code] += 1
        if response.status_code < 300:
            run.ok_ops.add(op.label)

    one()


@pytest.mark.slow
def test_fuzz_every_operation(fuzz_target: FuzzTarget, stack: str) -> None:
    target = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    run = FuzzRun()
    started = time.monotonic()
    operations = [r.ok() for r in schema.get_all_operations()]
    ops = {op.label for op in operations}
    passes: list[tuple[Any, str, Any]] = []
    for op in operations:
        passes.append(
            (
                op,
                "positive",
                st.builds(
                    _towards_real_models,
                    op.as_strategy(generation_mode=GenerationMode.POSITIVE),
                    st.booleans(),
                ),
            )
        )
        passes.append((op, "negative", op.as_strategy(generation_mode=GenerationMode.NEGATIVE)))
    # then the same on real objects: reads first, then writes, deletes last
    order = {"GET": 0, "POST": 1, "DELETE": 2}
    for op in sorted(operations, key=lambda o: order.get(o.method.upper(), 1)):
        names = [p.name for p in op.path_parameters]
        if names and all(n in target.ids for n in names):
            real = {n: target.ids[n] for n in names}
            passes.append(
                (
                    op,
                    "real ids",
                    op.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=real),
                )
            )
    for op, name, strategy in passes:
        if op.label in SKIP:
            continue
        headers = target.admin if "/admin/" in op.path else target.user
        try:
            _fuzz_operation(op, strategy, headers, run)
        except Unsatisfiable:  # nothing in this route's schema can be made invalid
            pass
        except Exception as exc:  # report every operation's failure, not only the first
            run.failures[f"{op.label} [{name}]"] = str(exc)[:3000]
    took = time.monotonic() - started
    print(
        f"\nfuzz[{stack}]: {run.requests} requests in {took:.1f}s, by status "
        f"{dict(sorted(run.statuses.items()))}; no 2xx from "
        f"{sorted(ops - run.ok_ops)}"
    )
    assert not run.failures, "\n\n".join(f"{k}:\n{v}" for k, v in run.failures.items())
