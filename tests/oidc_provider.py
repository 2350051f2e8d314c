"""A real, minimal OpenID Connect provider for tests, served by uvicorn on 127.0.0.1.

Usage (from any test module or fixture)::

    with run_provider() as idp:
        idp.add_client("my-app", "s3cret", ["http://127.0.0.1:8000/api/sso/x/callback"])
        ...  # configure the tenant with issuer=idp.issuer; browsers fill the form at
        ...  # /authorize (input name="email", button "Sign in") and are sent back

It implements discovery, JWKS (an RS256 key made at start), /authorize (a
form; requires a registered client and redirect_uri, PKCE S256 and a nonce),
/token (client_secret_basic or _post; one-time codes bound to client,
redirect_uri, challenge and nonce; the verifier is checked) and /userinfo.
``tamper(...)`` makes it issue bad ID tokens so clients' checks can be tested.
"""

from __future__ import annotations

import base64
import hmac
import html
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CODE_TTL_S = 60
ID_TOKEN_TTL_S = 300


@dataclass
class Client:
    """A registered relying party."""

    client_id: str
    secret: str
    redirect_uris: list[str]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    email: str
    expires_at: float


@dataclass
class OidcProvider:
    """The provider's state; ``issuer`` is set once the server listens."""

    issuer: str = ""
    clients: dict[str, Client] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: _new_key("test-key-1"))
    overrides: dict[str, Any] = field(default_factory=dict)
    foreign_key: bool = False
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_client(self, client_id: str, secret: str, redirect_uris: Iterable[str]) -> Client:
        """Register (or replace) a client."""
        client = Client(client_id, secret, list(redirect_uris))
        self.clients[client_id] = client
        return client

    def tamper(self, *, foreign_key: bool = False, **claims: Any) -> None:
        """Make the next ID tokens wrong: claims override (None removes), or another key signs."""
        self.overrides.update(claims)
        self.foreign_key = foreign_key

    def reset(self) -> None:
        """Back to honest behaviour, with no pending codes (clients stay registered)."""
        with self._lock:
            self.overrides.clear()
            self.foreign_key = False
            self.token_requests.clear()
            self._codes.clear()
            self._access.clear()

    def subject_of(self, email: str) -> str:
        """The stable ``sub`` this provider gives an email address."""
        return "user-" + create_s256_code_challenge(email.lower())[:16]

    def id_token_for(self, client_id: str, email: str, nonce: str) -> str:
        """An RS256 ID token (with any tampering applied)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "sub": self.subject_of(email),
            "email": email,
            "email_verified": True,
            "nonce": nonce,
            "iat": now,
            "exp": now + ID_TOKEN_TTL_S,
        }
        claims.update(self.overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = _new_key("test-key-1") if self.foreign_key else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    # --- endpoints ----------------------------------------------------------

    async def discovery(self, _request: Request) -> Response:
        i = self.issuer
        return JSONResponse(
            {
                "issuer": i,
                "authorization_endpoint": f"{i}/authorize",
                "token_endpoint": f"{i}/token",
                "userinfo_endpoint": f"{i}/userinfo",
                "jwks_uri": f"{i}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "scopes_supported": ["openid", "email", "profile"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "email_verified"],
            }
        )

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    def _check_request(self, p: dict[str, str]) -> tuple[Client | None, str]:
        """(client, "") when the authorization request is acceptable, else what is wrong."""
        client = self.clients.get(p.get("client_id", ""))
        if client is None or p.get("redirect_uri") not in client.redirect_uris:
            return None, "unknown client_id or redirect_uri"
        if p.get("response_type") != "code" or "openid" not in p.get("scope", "").split():
            return client, "invalid_request"
        if p.get("code_challenge_method") != "S256" or len(p.get("code_challenge", "")) < 43:
            return client, "invalid_request"
        if not p.get("nonce"):
            return client, "invalid_request"
        return client, ""

    def _back(self, p: dict[str, str], **result: str) -> Response:
        query = urlencode({**result, "state": p.get("state", "")})
        return RedirectResponse(f"{p['redirect_uri']}?{query}", status_code=303)

    async def authorize(self, request: Request) -> Response:
        if request.method == "POST":
            p = {k: str(v) for k, v in (await request.form()).items()}
        else:
            p = dict(request.query_params)
        client, problem = self._check_request(p)
        if client is None:  # never redirect to an unregistered URI
            return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
        if problem:
            return self._back(p, error=problem)
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in p.items()
                if k != "email"
            )
            return HTMLResponse(
                "<!doctype html><title>Test IdP</title><form method=post action=/authorize>"
                f'{hidden}<label for="email">Email</label> '
                '<input id="email" type="email" name="email" autocomplete="username"> '
                '<button type="submit">Sign in</button> '
                '<button type="submit" name="deny" value="1">Cancel</button></form>'
            )
        if p.get("deny"):
            return self._back(p, error="access_denied")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                client_id=client.client_id,
                redirect_uri=p["redirect_uri"],
                code_challenge=p["code_challenge"],
                nonce=p["nonce"],
                email=p.get("email", "").strip(),
                expires_at=time.time() + CODE_TTL_S,
            )
        return self._back(p, code=code)

    def _client_auth(self, request: Request, form: dict[str, str]) -> Client | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:]).decode()
            except ValueError:
                return None
            cid, _, secret = raw.partition(":")
            cid, secret = unquote(cid), unquote(secret)
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(cid)
        if client is None or not hmac.compare_digest(client.secret, secret):
            return None
        return client

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        client = self._client_auth(request, form)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # one use, even if it fails
        verifier = form.get("code_verifier", "")
        if (
            grant is None
            or grant.expires_at < time.time()
            or grant.client_id != client.client_id
            or grant.redirect_uri != form.get("redirect_uri")
            or not 43 <= len(verifier) <= 128
            or not hmac.compare_digest(create_s256_code_challenge(verifier), grant.code_challenge)
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access = secrets.token_urlsafe(24)
        with self._lock:
            self._access[access] = grant.email
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token_for(client.client_id, grant.email, grant.nonce),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        email = self._access.get(header[7:]) if header.lower().startswith("bearer ") else None
        if email is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"sub": self.subject_of(email), "email": email, "email_verified": True})

    def app(self) -> Starlette:
        """The provider as an ASGI app."""
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
            ]
        )


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a background thread; yields its base URL."""
    # IPPROTO_TCP rather than the default 0: asyncio turns TCP_NODELAY on only for
    # sockets that say they are TCP. Without it every response (headers and body
    # are two writes) waits for the client's delayed ACK: 44 ms a request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def run_provider(clients: Iterable[Client] = ()) -> Iterator[OidcProvider]:
    """Start a provider on a free 127.0.0.1 port; yields it with ``issuer`` set."""
    provider = OidcProvider()
    for c in clients:
        provider.add_client(c.client_id, c.secret, c.redirect_uris)
    with serve_app(provider.app()) as url:
        provider.issuer = url
        yield provider
