"""A small HTTP client for Label Studio's REST API, with the error handling the workbench needs.

Why not only the SDK: the simulated crowd needs ``/api/projects/{id}/next/`` and the sign-up form,
and pulls need the Data Manager's lean task listing (``include=...``, filters), none of which the
SDK wraps; and every call here must share one retry policy and one way of turning failures into a
one-line error. Both legacy tokens and personal access tokens (JWT refresh tokens, exchanged for
short-lived access tokens) work. The key is never put in a message.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import httpx

from ...errors import WorkbenchError

RETRY_STATUS = {429, 500, 502, 503, 504}
#: tries after a refused connection (0.5 + 1 s): a server that is down is reported in about 1.5 s
CONNECT_RETRIES = 2


class AmbiguousWrite(WorkbenchError):
    """A write whose request was sent but whose answer was lost or an error: it may or may not have
    happened. Callers that can check the server catch it; elsewhere it is the one-line error."""


class NotFound(WorkbenchError):
    """404 from Label Studio (the caller knows what was missing)."""


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


class LabelStudioAPI:
    def __init__(self, url: str, api_key: str, *, key_source: str = "the API key", retries: int = 5,
                 backoff: float = 0.5, timeout: float = 120.0, transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        self.key_source = key_source
        self.retries = retries
        self.backoff = backoff
        self._api_key = api_key
        self._access: str | None = None
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    # ---- auth ---------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        if not _is_jwt(self._api_key):
            return {"Authorization": f"Token {self._api_key}"}
        if self._access is None:
            r = self._send("POST", "/api/token/refresh/", json={"refresh": self._api_key}, auth=False)
            if r.status_code != 200:
                raise self._rejected()
            self._access = r.json()["access"]
        return {"Authorization": f"Bearer {self._access}"}

    def _rejected(self) -> WorkbenchError:
        return WorkbenchError(f"Label Studio at {self.url} rejected {self.key_source}: wrong or expired token")

    # ---- requests -----------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, auth: bool = True, idempotent: bool | None = None,
              **kwargs) -> httpx.Response:
        """Send with retries and exponential backoff on connection failures, 429 and 5xx.

        A non-idempotent write whose answer is lost raises :class:`AmbiguousWrite` rather than being
        sent twice: the caller checks what happened on the server.
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "PATCH")
        delay = self.backoff
        extra_headers = kwargs.pop("headers", {})
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                headers = {**extra_headers, **(self._auth() if auth else {})}
                r = self.http.request(method, path, headers=headers, **kwargs)
            except httpx.ConnectError as exc:  # never reached the server: safe to send again
                # refused at once: a stopped server, not a busy one; say so in a second or two
                if last or attempt >= CONNECT_RETRIES:
                    raise WorkbenchError(
                        f"cannot reach Label Studio at {self.url} ({exc}); is it running? "
                        "(`workbench server start` starts the managed one)") from None
            except (httpx.TimeoutException, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as exc:
                if not idempotent:
                    raise AmbiguousWrite(
                        f"Label Studio at {self.url} did not answer {method} {path} ({type(exc).__name__}); it may "
                        "or may not have been done: run the step again, it checks what is there") from None
                if last:
                    raise WorkbenchError(f"Label Studio at {self.url} did not answer {method} {path}: "
                                         f"{type(exc).__name__} after {self.retries + 1} tries") from None
            else:
                if r.status_code == 401 and auth and self._access is not None and not last:
                    self._access = None  # a personal access token's short-lived access token expired
                    continue
                if r.status_code >= 500 and not idempotent:
                    # a server error after a write may come after its commit: never blindly send it again
                    raise AmbiguousWrite(
                        f"Label Studio at {self.url} answered HTTP {r.status_code} to {method} {path} "
                        f"({_detail(r)}); run the step again, it checks what is there")
                if r.status_code not in RETRY_STATUS or last:
                    return r
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), what: str | None = None,
                **kwargs) -> httpx.Response:
        r = self._send(method, path, **kwargs)
        if r.status_code in ok:
            return r
        raise self.failure(r, what or f"{method} {path}")

    def failure(self, r: httpx.Response, what: str) -> WorkbenchError:
        """The one-line error for an answer that is not what was asked for (after the retries)."""
        if r.status_code in (401, 403):
            if r.status_code == 401 or not self._works():
                return self._rejected()
            return WorkbenchError(f"Label Studio at {self.url} refused {what}: the token's user may not do that "
                                  f"({_detail(r)})")
        if r.status_code == 404:
            return NotFound(f"Label Studio at {self.url}: {what}: not found ({_detail(r)})")
        if r.status_code >= 500 or r.status_code == 429:
            return WorkbenchError(f"Label Studio at {self.url} kept failing on {what}: HTTP {r.status_code} after "
                                  f"{self.retries + 1} tries ({_detail(r)})")
        return WorkbenchError(f"Label Studio at {self.url} refused {what}: HTTP {r.status_code}: {_detail(r)}")

    def _works(self) -> bool:
        try:
            return self._send("GET", "/api/current-user/whoami").status_code == 200
        except WorkbenchError:
            return False

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, body: Any, **kwargs) -> Any:
        r = self.request("POST", path, json=body, **kwargs)
        return r.json() if r.content else None

    def patch(self, path: str, body: Any, **kwargs) -> Any:
        return self.request("PATCH", path, json=body, **kwargs).json()

    def delete(self, path: str, **kwargs) -> None:
        self.request("DELETE", path, **kwargs)

    # ---- higher level -------------------------------------------------------------------------
    def whoami(self) -> dict:
        return self.get("/api/current-user/whoami", what="checking the API key")

    def tasks(self, project: int, *, include: str | None = "id", filters: list[dict] | None = None,
              ordering: list[str] | None = None, page_size: int = 1000, fields: str = "task_only") -> Iterator[dict]:
        """Every task of ``project`` through the Data Manager listing, page by page.

        Label Studio answers the page after the last one with 404: that is the end, not an error.
        """
        query: dict[str, Any] = {}
        if filters:
            query["filters"] = {"conjunction": "and", "items": filters}
        if ordering:
            query["ordering"] = ordering
        page = 1
        while True:
            params = {"project": project, "page": page, "page_size": page_size, "fields": fields}
            if include is not None:
                params["include"] = include
            if query:
                params["query"] = json.dumps(query)
            r = self._send("GET", "/api/tasks/", params=params)
            if r.status_code == 404 and page > 1:
                return
            if r.status_code != 200:
                raise self.failure(r, f"listing the tasks of project {project}")
            body = r.json()
            tasks = body.get("tasks", body if isinstance(body, list) else [])
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200].strip() or r.reason_phrase
    if isinstance(body, dict):
        for key in ("validation_errors", "detail", "message", "error"):
            if body.get(key):
                text = json.dumps(body[key]) if not isinstance(body[key], str) else body[key]
                return text[:300]
    return json.dumps(body)[:300]
