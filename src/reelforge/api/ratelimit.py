"""`X-RateLimit-Limit/Remaining/Reset` on every rate-limited response, errors and streams
included: the account dependency records where the key stands (`request.state.rate_limit`)
and this middleware adds it to the response's headers as they go out."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimitHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = (scope.get("state") or {}).get("rate_limit")
                if found:
                    raw = list(message.get("headers", []))
                    present = {name.lower() for name, _ in raw}
                    raw += [
                        (k.lower().encode(), v.encode())
                        for k, v in found.items()
                        if k.lower().encode() not in present
                    ]
                    message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
