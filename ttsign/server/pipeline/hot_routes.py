"""The signing routes answered without FastAPI's router: the innermost middleware, for the routes whose
endpoint takes the request and nothing else and returns a `Response`.

Such an endpoint gets nothing from FastAPI per request (no parameters to parse or validate, no
dependencies, no response model), yet the router costs about a fifth of an in-process `POST /signature`:
matching the routes in order, the exception middleware, the exit stack, `solve_dependencies`
(issue 13 measured it). So a hot route's endpoint is called here directly, with what Starlette's routing
would have set on the scope (`route`, `endpoint`, `path_params`), and an exception it raises is
rendered by the app's own exception handlers, looked up as Starlette's exception middleware does (by the
exception's class, most derived first); one with no handler goes on out, as it would from the router.
Everything else (another path, another method, a route that takes parameters) goes to the router
unchanged. The OpenAPI document is the router's, so it is unchanged too.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


def request_only(route: APIRoute) -> bool:
    """The endpoint is `async def f(request: Request) -> <a Response>`, with nothing for FastAPI to do."""
    dependant = route.dependant
    if dependant.request_param_name is None or not inspect.iscoroutinefunction(route.endpoint):
        return False
    if dependant.dependencies or dependant.path_params or dependant.query_params or dependant.header_params:
        return False
    if dependant.cookie_params or dependant.body_params or dependant.websocket_param_name:
        return False
    if len(inspect.signature(route.endpoint).parameters) != 1 or route.dependencies:
        return False
    try:
        returned = typing.get_type_hints(route.endpoint).get("return")
    except Exception:  # an annotation that does not resolve: leave the route to FastAPI
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


class HotRoutes:
    def __init__(self, app: ASGIApp, *, routes: Iterable[BaseRoute], paths: Iterable[str]) -> None:
        self.app = app
        wanted = frozenset(paths)
        self.table: dict[tuple[str, str], APIRoute] = {}
        for route in routes:
            if isinstance(route, APIRoute) and route.path in wanted and request_only(route):
                for method in route.methods or ():
                    self.table.setdefault((method, route.path), route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.table.get((scope["method"], scope["path"]))
        if route is None:
            return await self.app(scope, receive, send)
        scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            handler = _handler_for(scope, exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


def _handler_for(scope: Scope, exc: Exception) -> Any:
    handlers: dict[Any, Any] = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:  # Starlette leaves `Exception` (and 500) to the server-error middleware
            return None
        if cls in handlers:
            return handlers[cls]
    return None
