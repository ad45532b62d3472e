"""The KFP v2beta1 REST API subset the SDK uses: healthz, experiments, runs.

JSON is snake_case with empty fields left out, as grpc-gateway writes it;
errors are grpc-gateway bodies ``{"error", "code", "message", "details"}``.
In multi-user mode the caller is the ``kubeflow-userid`` header (set by the
door, or by an in-cluster client), else a bearer token that passes
TokenReview (``review``: audience ``pipelines.kubeflow.org``).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kfp_profiles.testing.doors import USERID_HEADER
from kfp_profiles.testing.messages import Request, Response, json_response

API_ROOT = "/apis/v2beta1"
KFP_VERSION = "2.4.1"
_RUN_STATES = ("PENDING", "RUNNING", "SUCCEEDED")
_DEFAULT_PAGE_SIZE = 20

# grpc status codes used by the API server
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED = 3, 5, 6, 7
UNIMPLEMENTED, UNAUTHENTICATED = 12, 16


class ApiError(Exception):
    """An answer of the API server other than success."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        status_detail = {
            "@type": "type.googleapis.com/google.rpc.Status",
            "code": self.code,
            "message": self.message,
        }
        return json_response(
            self.status,
            {
                "error": self.message,
                "code": self.code,
                "message": self.message,
                "details": [status_detail],
            },
        )


def default_namespace(user: str) -> str:
    """The profile namespace Kubeflow's examples give a user: ``kubeflow-user-example-com``."""
    return "kubeflow-" + re.sub(r"[^a-z0-9]+", "-", user.lower()).strip("-")


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _without_empty(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v not in ("", 0, None, [], {})}


@dataclass
class Experiment:
    experiment_id: str
    display_name: str
    description: str
    namespace: str
    created_at: float
    last_run_created_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _without_empty(
            {
                "experiment_id": self.experiment_id,
                "display_name": self.display_name,
                "description": self.description,
                "created_at": _timestamp(self.created_at),
                "namespace": self.namespace,
                "storage_state": "AVAILABLE",
                "last_run_created_at": _timestamp(self.last_run_created_at)
                if self.last_run_created_at
                else None,
            }
        )


@dataclass
class Run:
    run_id: str
    experiment_id: str
    namespace: str
    display_name: str
    description: str
    created_at: float
    spec: dict[str, Any]  # pipeline_spec, runtime_config, ... as the client sent them
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.history[-1][1]

    def advance(self) -> None:
        """One step PENDING -> RUNNING -> SUCCEEDED, so a wait ends after two GETs."""
        position = _RUN_STATES.index(self.state)
        if position + 1 < len(_RUN_STATES):
            self.history.append((time.time(), _RUN_STATES[position + 1]))

    def to_json(self) -> dict[str, Any]:
        done = self.state == "SUCCEEDED"
        return _without_empty(
            {
                "run_id": self.run_id,
                "experiment_id": self.experiment_id,
                "display_name": self.display_name,
                "description": self.description,
                "storage_state": "AVAILABLE",
                **self.spec,
                "service_account": self.spec.get("service_account") or "default-editor",
                "created_at": _timestamp(self.created_at),
                "scheduled_at": _timestamp(self.created_at),
                "finished_at": _timestamp(self.history[-1][0]) if done else None,
                "state": self.state,
                "state_history": [
                    {"update_time": _timestamp(at), "state": state} for at, state in self.history
                ],
            }
        )


_RUN_SPEC_FIELDS = (
    "pipeline_spec",
    "pipeline_version_reference",
    "pipeline_version_id",
    "runtime_config",
    "service_account",
)


class KfpApi:
    """The API server's state (experiments, runs, who may see what) behind one lock."""

    def __init__(self, *, multi_user: bool, review: Callable[[str], str | None]) -> None:
        self.multi_user = multi_user
        self._review = review
        self._lock = threading.Lock()
        self._experiments: dict[str, Experiment] = {}
        self._runs: dict[str, Run] = {}
        self._access: dict[str, set[str]] = {}

    # --- set-up from tests -------------------------------------------------------

    def allow(self, user: str, namespace: str) -> None:
        with self._lock:
            self._access.setdefault(user, set()).add(namespace)

    def add_experiment(
        self, display_name: str, namespace: str = "", description: str = ""
    ) -> dict[str, Any]:
        with self._lock:
            experiment = self._store_experiment(display_name, namespace, description)
        return experiment.to_json()

    def _store_experiment(self, display_name: str, namespace: str, description: str) -> Experiment:
        experiment = Experiment(
            experiment_id=str(uuid.uuid4()),
            display_name=display_name,
            description=description,
            namespace=namespace if self.multi_user else "",
            created_at=time.time(),
        )
        self._experiments[experiment.experiment_id] = experiment
        return experiment

    # --- routing -------------------------------------------------------------------

    def handle(self, req: Request, api_path: str) -> Response:
        """Answer ``api_path`` (``/apis/v2beta1/...``, the gateway prefix removed)."""
        routes: dict[tuple[str, str], Callable[[Request, str], Response]] = {
            ("GET", "healthz"): self._healthz,
            ("GET", "experiments"): self._list_experiments,
            ("POST", "experiments"): self._create_experiment,
            ("GET", "experiments/*"): self._get_experiment,
            ("GET", "runs"): self._list_runs,
            ("POST", "runs"): self._create_run,
            ("GET", "runs/*"): self._get_run,
        }
        rest = api_path.removeprefix(API_ROOT + "/").rstrip("/")
        collection, _, item = rest.partition("/")
        route = f"{collection}/*" if item and "/" not in item else rest
        handler = routes.get((req.method, route))
        try:
            if handler is None:
                if any(path == route for _, path in routes):
                    raise ApiError(405, UNIMPLEMENTED, "Method Not Allowed")
                raise ApiError(404, NOT_FOUND, "Not Found")
            return handler(req, item)
        except ApiError as error:
            return error.response()

    # --- who is calling ----------------------------------------------------------------

    def _caller(self, req: Request) -> str:
        user = req.headers.get(USERID_HEADER, "").strip()
        if user:
            return user
        token = req.bearer
        if token is None:
            raise ApiError(
                401,
                UNAUTHENTICATED,
                "Failed to authenticate the request: Request header error: there is no user "
                "identity header.: User identity is empty in the request header",
            )
        account = self._review(token)
        if account is None:
            raise ApiError(
                401,
                UNAUTHENTICATED,
                "Failed to authenticate the request: TokenReview rejected the bearer token "
                "for audience pipelines.kubeflow.org",
            )
        return account

    def _authorize(self, req: Request, namespace: str, verb: str, resource: str) -> None:
        """Multi-user mode: the caller must have access to ``namespace``."""
        if not self.multi_user:
            return
        user = self._caller(req)
        with self._lock:
            allowed = namespace in self._access.get(user, set())
        own_namespace = user.split(":")[2] if user.startswith("system:serviceaccount:") else None
        if not allowed and namespace != own_namespace:
            raise ApiError(
                403,
                PERMISSION_DENIED,
                f"User '{user}' is not authorized with reason: no access to namespace "
                f"'{namespace}' (verb: {verb}, resource: pipelines.kubeflow.org/{resource})",
            )

    def _require_namespace(self, namespace: str, kind: str) -> None:
        if self.multi_user and not namespace:
            article = "An" if kind[0] in "aeiou" else "A"
            raise ApiError(
                400,
                INVALID_ARGUMENT,
                f"Invalid input error: {kind} namespace is missing: "
                f"{article} {kind} cannot have an empty namespace in multi-user mode",
            )

    # --- healthz ------------------------------------------------------------------------

    def _healthz(self, req: Request, _: str) -> Response:
        return json_response(
            200,
            {"multi_user": self.multi_user, "commit_sha": "0d7c0bf1e", "tag_name": KFP_VERSION},
        )

    # --- experiments ----------------------------------------------------------------------

    def _list_experiments(self, req: Request, _: str) -> Response:
        namespace = req.query.get("namespace", "")
        self._require_namespace(namespace, "experiment")
        self._authorize(req, namespace, "list", "experiments")
        with self._lock:
            found = [
                e.to_json()
                for e in self._experiments.values()
                if not self.multi_user or e.namespace == namespace
            ]
        return json_response(200, _list_page(req, found, "experiments", "experiment_id"))

    def _create_experiment(self, req: Request, _: str) -> Response:
        body = _json_body(req)
        name = str(body.get("display_name") or "")
        namespace = str(body.get("namespace") or "")
        if not name:
            raise ApiError(
                400, INVALID_ARGUMENT, "Invalid input error: Experiment display name is empty"
            )
        self._require_namespace(namespace, "experiment")
        self._authorize(req, namespace, "create", "experiments")
        with self._lock:
            stored_namespace = namespace if self.multi_user else ""
            if any(
                e.display_name == name and e.namespace == stored_namespace
                for e in self._experiments.values()
            ):
                raise ApiError(
                    409,
                    ALREADY_EXISTS,
                    f"Already exist error: Failed to create a new experiment. The name {name} "
                    "already exists. Please specify a new name",
                )
            experiment = self._store_experiment(name, namespace, str(body.get("description") or ""))
        return json_response(200, experiment.to_json())

    def _get_experiment(self, req: Request, experiment_id: str) -> Response:
        experiment = self._experiment(experiment_id)
        self._authorize(req, experiment.namespace, "get", "experiments")
        return json_response(200, experiment.to_json())

    def _experiment(self, experiment_id: str) -> Experiment:
        with self._lock:
            experiment = self._experiments.get(experiment_id)
        if experiment is None:
            raise ApiError(404, NOT_FOUND, f"Not found error: Experiment {experiment_id} not found")
        return experiment

    # --- runs -------------------------------------------------------------------------

    def _list_runs(self, req: Request, _: str) -> Response:
        experiment_id = req.query.get("experiment_id", "")
        if experiment_id:
            namespace = self._experiment(experiment_id).namespace
        else:
            namespace = req.query.get("namespace", "")
            self._require_namespace(namespace, "run")
        self._authorize(req, namespace, "list", "runs")
        with self._lock:
            found = [
                r.to_json()
                for r in self._runs.values()
                if (not experiment_id or r.experiment_id == experiment_id)
                and (not self.multi_user or r.namespace == namespace)
            ]
        return json_response(200, _list_page(req, found, "runs", "run_id"))

    def _create_run(self, req: Request, _: str) -> Response:
        body = _json_body(req)
        experiment_id = str(body.get("experiment_id") or req.query.get("experiment_id") or "")
        name = str(body.get("display_name") or "")
        if not name:
            raise ApiError(400, INVALID_ARGUMENT, "Invalid input error: Run display name is empty")
        if not (body.get("pipeline_spec") or body.get("pipeline_version_reference")):
            raise ApiError(
                400,
                INVALID_ARGUMENT,
                "Invalid input error: A run needs a pipeline spec or a pipeline version reference",
            )
        if not experiment_id:
            # Without an experiment the run has no namespace.
            self._require_namespace("", "run")
        experiment = (
            self._experiment(experiment_id) if experiment_id else self._default_experiment()
        )
        self._authorize(req, experiment.namespace, "create", "runs")
        now = time.time()
        run = Run(
            run_id=str(uuid.uuid4()),
            experiment_id=experiment.experiment_id,
            namespace=experiment.namespace,
            display_name=name,
            description=str(body.get("description") or ""),
            created_at=now,
            spec={k: body[k] for k in _RUN_SPEC_FIELDS if body.get(k)},
            history=[(now, "PENDING")],
        )
        with self._lock:
            self._runs[run.run_id] = run
            experiment.last_run_created_at = now
        return json_response(200, run.to_json())

    def _default_experiment(self) -> Experiment:
        with self._lock:
            for experiment in self._experiments.values():
                if experiment.display_name == "Default":
                    return experiment
            return self._store_experiment(
                "Default",
                "",
                "All runs created without specifying an experiment will be grouped here.",
            )

    def _get_run(self, req: Request, run_id: str) -> Response:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise ApiError(404, NOT_FOUND, f"Not found error: Run {run_id} not found")
        self._authorize(req, run.namespace, "get", "runs")
        with self._lock:
            run.advance()
            payload = run.to_json()
        return json_response(200, payload)


# --- listing: filter, sort, pages ------------------------------------------------------

_FILTER_KEYS = {"name": "display_name"}
_OPERATIONS = {1: "EQUALS", 2: "NOT_EQUALS", 9: "IS_SUBSTRING"}


def _json_body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise ApiError(400, INVALID_ARGUMENT, "Invalid input error: the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_ARGUMENT, "Invalid input error: the body is not a JSON object")
    return body


def _list_page(
    req: Request, items: list[dict[str, Any]], key: str, id_field: str
) -> dict[str, Any]:
    """Filter, sort and cut one page of ``items``, as a list response."""
    # Parsed before any item is looked at: KFP rejects a bad filter on an empty list too.
    predicates = _predicates(req.query.get("filter", ""))
    items = [item for item in items if _matches(item, predicates)]
    _sort(items, req.query.get("sort_by", ""), id_field)
    try:
        size = int(req.query.get("page_size") or 0) or _DEFAULT_PAGE_SIZE
    except ValueError:
        raise ApiError(
            400, INVALID_ARGUMENT, "Invalid input error: page_size is not a number"
        ) from None
    offset = _page_offset(req.query.get("page_token", ""))
    page = items[offset : offset + size]
    next_token = ""
    if offset + size < len(items):
        next_token = base64.urlsafe_b64encode(
            json.dumps({"offset": offset + size}).encode()
        ).decode()
    return _without_empty({key: page, "total_size": len(items), "next_page_token": next_token})


def _page_offset(token: str) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, INVALID_ARGUMENT, "Invalid input error: invalid page token") from None
    if not isinstance(offset, int) or offset < 0:
        raise ApiError(400, INVALID_ARGUMENT, "Invalid input error: invalid page token")
    return offset


def _predicates(raw: str) -> list[tuple[str, str, str]]:
    """A filter (JSON, camelCase or snake_case) as ``(key, operation, value)`` triples."""
    if not raw:
        return []
    try:
        spec = json.loads(raw)
        predicates = spec.get("predicates", [])
        triples = []
        for p in predicates:
            operation = p.get("operation", "EQUALS")
            operation = _OPERATIONS.get(operation, str(operation))
            value = next(
                (
                    p[k]
                    for k in (
                        "string_value",
                        "stringValue",
                        "int_value",
                        "intValue",
                        "long_value",
                        "longValue",
                    )
                    if k in p
                ),
                "",
            )
            triples.append((str(p["key"]), str(operation), str(value)))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ApiError(
            400, INVALID_ARGUMENT, f"Invalid input error: cannot parse filter {raw!r}"
        ) from None
    for _, operation, _ in triples:
        if operation not in _OPERATIONS.values():
            raise ApiError(
                400,
                INVALID_ARGUMENT,
                f"Invalid input error: the emulator does not support filter operation {operation}",
            )
    return triples


def _matches(item: dict[str, Any], predicates: list[tuple[str, str, str]]) -> bool:
    for key, operation, value in predicates:
        actual = str(item.get(_FILTER_KEYS.get(key, key), ""))
        if operation == "EQUALS" and actual != value:
            return False
        if operation == "NOT_EQUALS" and actual == value:
            return False
        if operation == "IS_SUBSTRING" and value not in actual:
            return False
    return True


def _sort(items: list[dict[str, Any]], sort_by: str, id_field: str) -> None:
    if not sort_by:
        return  # creation order, as stored
    field_name, _, direction = sort_by.strip().partition(" ")
    field_name = {"name": "display_name", "id": id_field}.get(field_name, field_name)
    if field_name not in ("display_name", "created_at", id_field) or direction not in (
        "",
        "desc",
        "asc",
    ):
        raise ApiError(
            400, INVALID_ARGUMENT, f"Invalid input error: invalid sorting field {sort_by!r}"
        )
    items.sort(key=lambda item: str(item.get(field_name, "")), reverse=direction == "desc")
