"""Who a request acts for: the account, whether it is an operator, the key it came with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountRef:
    id: str
    name: str
    is_admin: bool = False
    key_id: str | None = None  # the API key the request came with (budgets are per key)
    plan: str | None = None  # the account's plan when it authenticated (rate limits)
