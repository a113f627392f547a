"""Token checks, cross-origin refusal and protective headers."""

import hmac
from urllib.parse import urlsplit

from flask import Flask, current_app, request

from lpot_ux.errors import AuthenticationError

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The page's address may hold the token: never send it to another site.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def read_token(authorization: str | None, query_token: str | None) -> str:
    """Return the token a request carries, empty when it carries none."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value else authorization.strip()

    return query_token or ""


def token_matches(candidate: str, token: str) -> bool:
    """Compare a token in constant time."""

    return hmac.compare_digest(candidate.encode(), token.encode())


def check_origin() -> None:
    """Refuse an API call a browser makes from another origin, unless allowed."""
    origin = request.headers.get("Origin")
    if not origin:
        return
    own = f"{request.scheme}://{request.host}"
    allowed = current_app.config["ALLOWED_ORIGINS"]
    if origin.rstrip("/") != own and origin not in allowed:
        raise AuthenticationError(
            f"Cross-origin requests from {urlsplit(origin).netloc or origin!r} are refused; "
            "start the server with that origin allowed to permit them."
        )


def check_token() -> None:
    """Refuse an API call without the server's token."""
    if not request.path.startswith("/api/"):
        return
    check_origin()
    candidate = read_token(request.headers.get("Authorization"), request.args.get("token"))
    if not token_matches(candidate, current_app.config["TOKEN"]):
        raise AuthenticationError(
            "A valid token is required: send it as 'Authorization: Bearer TOKEN' or "
            "?token=TOKEN, as in the URL the server printed at start."
        )


def add_headers(response):
    """Add the protective headers to every response."""
    response.headers.update(HEADERS)
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"

    return response


def init_app(app: Flask) -> None:
    """Install the checks and headers on an application."""
    app.before_request(check_token)
    app.after_request(add_headers)
