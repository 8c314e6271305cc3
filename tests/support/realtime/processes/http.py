"""A small stdlib HTTP client that talks to a live server the way the widget and console do."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    status: int
    body: Any


@dataclass
class HttpClient:
    """Visitor (`bearer`, `origin` = the customer's site) or agent (cookies, CSRF)."""

    base_url: str
    bearer: str | None = None
    origin: str | None = None
    cookies: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # 127.0.0.1 only, whatever the environment says
            urllib.request.HTTPCookieProcessor(self.cookies),
            _NoRedirect(),
        )

    def with_base(self, base_url: str) -> HttpClient:
        """The same credentials against another process of the same installation."""
        return HttpClient(
            base_url=base_url, bearer=self.bearer, origin=self.origin, cookies=self.cookies
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)

    def request(
        self, method: str, path: str, body: Any = None, *, form: dict[str, str] | None = None
    ) -> Response:
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        if self.origin:
            headers["Origin"] = self.origin
        csrf = self.cookie("csrftoken")
        if csrf and method not in ("GET", "HEAD"):
            headers["X-CSRFToken"] = csrf
        req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            f"{self.base_url}{path}", data=data, headers=headers, method=method
        )
        try:
            with self._opener.open(req, timeout=15) as response:
                return Response(response.status, _decode(response.read()))
        except urllib.error.HTTPError as error:
            return Response(error.code, _decode(error.read()))

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Response:
        return self.request("POST", path, body if body is not None else {})

    def login(self, username: str, password: str) -> None:
        """The console's real login form: GET for the CSRF cookie, POST the form."""
        page = self.request("GET", "/console/login/")
        assert page.status == 200, page
        token = self.cookie("csrftoken")
        if token is None:  # the token may only be in the form
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', str(page.body))
            assert match, "no CSRF token on the login page"
            token = match.group(1)
        answer = self.request(
            "POST",
            "/console/login/",
            form={"username": username, "password": password, "csrfmiddlewaretoken": token},
        )
        assert answer.status == 302, f"login failed: {answer.status}"
        assert self.cookie("sessionid"), "no session cookie after login"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def start_visitor(
    server_url: str, *, chatbot_key: str, origin: str, name: str, first_message: str
) -> tuple[HttpClient, str]:
    """A visitor session and its support request, made the way the widget makes them."""
    anonymous = HttpClient(base_url=server_url, origin=origin)
    started = anonymous.post(f"/api/chatbots/{chatbot_key}/sessions")
    assert started.status == 201, started
    visitor = HttpClient(base_url=server_url, bearer=started.body["token"], origin=origin)
    created = visitor.post(
        "/human-support/request",
        {
            "session_id": started.body["session_id"],
            "user_name": name,
            "initial_message": first_message,
        },
    )
    assert created.status == 201, created
    return visitor, created.body["request_id"]


def messages_of(client: HttpClient, request_id: str, *, after: int = 0) -> list[dict[str, Any]]:
    answer = client.get(f"/human-support/requests/{request_id}/messages?after={after}")
    assert answer.status == 200, answer
    return list(answer.body["messages"])
