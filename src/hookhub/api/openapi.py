"""``/api/v1/openapi.json``: FastAPI's document, completed so that it is a contract.

FastAPI documents what it sees in a route's signature. What it cannot see is added here, from
the routes themselves, so that a new route gets it without anyone remembering to:

- a body a route reads by hand (``json_body(Model)`` in its ``openapi_extra``) and the models
  it refers to;
- the bearer-token security scheme, on each route that authenticates its caller;
- the error answers each route can give, all ``{code, detail}`` (``api.schemas``): 401/403 where
  a token is checked, 404 where the path names something, 400/409/413/415/422 where a body is
  read, 422 where a query or path parameter is validated, 503 while the database is away.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from hookhub.api.schemas import HttpErrorOut, HttpValidationErrorOut

_REF = "#/components/schemas/{model}"

# Models named by ``json_body``: added to the document's components.
_BODY_MODELS: dict[str, type[BaseModel]] = {}

_DESCRIPTIONS = {
    400: "Bad request (malformed JSON, or a request that cannot be carried out)",
    401: "Missing or invalid bearer token",
    403: "The token does not give access to this",
    404: "Not found",
    409: "Conflict (a uid already taken, or an Idempotency-Key still in flight)",
    413: "Body too large",
    415: "The body is not declared as JSON",
    422: "Validation failed",
    503: "The database is unreachable; retry after Retry-After seconds",
}


def operation_id(route: APIRoute) -> str:
    """Svix's style, ``v1.{tag}.{handler}`` (``v1.message-attempt.list-by-msg``): what a generated
    client names its functions after."""
    tag = (str(route.tags[0]) if route.tags else "misc").lower().replace(" ", "-")
    name = route.name.replace("_", "-")
    if route.methods == {"HEAD"}:
        name += "-head"  # beside the GET of the same handler
    return f"v1.{tag}.{name}"


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a route that parses its JSON body itself (``wire.parse_body``)."""
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": _REF.format(model=model.__name__)}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def install_openapi(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = build_document(api)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def build_document(api: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=api.title,
        version=api.version,
        description=api.description,
        routes=api.routes,
        servers=api.servers,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (*_BODY_MODELS.values(), HttpErrorOut, HttpValidationErrorOut):
        _add_model(schemas, model)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            _complete(operation, path, method.upper())
    # FastAPI's own 422 shape (no code) is no longer referred to; its ValidationError (integer
    # locations too) was replaced by hookhub's above.
    if "HTTPValidationError" not in _refs(doc["paths"]):
        schemas.pop("HTTPValidationError", None)
    return doc


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF, by_alias=True)
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema


def _refs(node: Any) -> set[str]:
    text = repr(node)
    return set(re.findall(r"#/components/schemas/(\w+)", text))


def _complete(operation: dict[str, Any], path: str, method: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes: set[int] = {503}
    authenticated = "security" in operation  # the token dependency declares the bearer scheme
    if authenticated:
        codes |= {401, 403}
    if "{" in path:
        codes |= {404}
    if "422" in responses:
        codes |= {422}  # FastAPI's own, in its shape: replaced by hookhub's
    parameters = operation.get("parameters", [])
    if parameters:
        codes |= {400, 422}
    if "requestBody" in operation:
        codes |= {400, 413, 415, 422}
        if method in {"POST", "PUT", "PATCH"}:
            codes |= {409}
    elif method == "POST" and authenticated:
        codes |= {400, 409}  # an Idempotency-Key in flight; a request that cannot be done
    for code in sorted(codes):
        model = HttpValidationErrorOut if code == 422 else HttpErrorOut
        responses[str(code)] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
        }
