"""Persistence adapters: the relational database (truth) and the blob store."""

# Every table on `tables.Base` whenever anything in storage is imported: the money side and
# browser sign-in live in modules of their own (they import `tables`, never the reverse).
from reelforge.storage import billing_tables as _billing_tables  # noqa: F401
from reelforge.storage import commerce_tables as _commerce_tables  # noqa: F401
from reelforge.storage import guard_tables as _guard_tables  # noqa: F401
from reelforge.storage import provider_tables as _provider_tables  # noqa: F401
from reelforge.storage import signin_tables as _signin_tables  # noqa: F401
