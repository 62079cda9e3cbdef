"""Issue 14's move table: each old module under `reelforge.services` and where it lives now.

`tools/rewrite_imports.py` reads this table to rewrite imports, dotted strings (monkeypatch
targets, import-linter contracts) and `services/x.py` paths in prose. Keep it a plain table.
"""

from __future__ import annotations

from pathlib import Path

# old module (under reelforge.services) -> new module (full dotted path)
MOVES: dict[str, str] = {
    # the composition root, outside the use cases
    "bootstrap": "reelforge.app.bootstrap",
    "platform": "reelforge.app.platform",
    "hooks": "reelforge.app.ports",
    "checks": "reelforge.app.checks",
    # the job pipeline
    "submit": "reelforge.services.jobs.submit",
    "admission": "reelforge.services.jobs.admission",
    "execution": "reelforge.services.jobs.execution",
    "finalize": "reelforge.services.jobs.finalize",
    "jobs": "reelforge.services.jobs.queries",
    "reaper": "reelforge.services.jobs.reaper",
    "periodic": "reelforge.services.jobs.periodic",
    "result_cache": "reelforge.services.jobs.result_cache",
    "uploads": "reelforge.services.jobs.uploads",
    "image_input": "reelforge.services.jobs.image_input",
    "views": "reelforge.services.jobs.views",
    "delivery": "reelforge.services.jobs.delivery",
    "retention": "reelforge.services.jobs.retention",
    "source_warnings": "reelforge.services.jobs.source_warnings",
    "event_streams": "reelforge.services.jobs.event_streams",
    "fsck": "reelforge.services.jobs.fsck",
    "workers": "reelforge.services.jobs.workers",
    "models": "reelforge.services.jobs.model_registry",
    "edge": "reelforge.services.jobs.edge",
    # governance
    "moderation": "reelforge.services.governance.moderation",
    "likeness": "reelforge.services.governance.likeness",
    "reviews": "reelforge.services.governance.reviews",
    "audit": "reelforge.services.governance.audit",
    # provenance
    "provenance": "reelforge.services.provenance.marking",
    # billing and payments
    "billing": "reelforge.services.billing.charges",
    "quotes": "reelforge.services.billing.quotes",
    "ledger": "reelforge.services.billing.ledger",
    "metering": "reelforge.services.billing.metering",
    "ratelimit": "reelforge.services.billing.ratelimit",
    "account_billing": "reelforge.services.billing.customers",
    "payments": "reelforge.services.billing.checkout",
    "stripe_webhooks": "reelforge.services.billing.payment_events",
    "reports": "reelforge.services.billing.reports",
    # accounts
    "accounts": "reelforge.services.accounts.accounts",
    "signin": "reelforge.services.accounts.signin",
    # outgoing notifications
    "webhooks": "reelforge.services.notify.deliveries",
    "callbacks": "reelforge.net.callbacks",
    "outbound": "reelforge.net.outbound",
    # operations: read models over every context
    "metrics": "reelforge.services.ops.metrics",
    "console": "reelforge.services.ops.fleet",
    # the simulator: a driver above the services
    "simulation": "reelforge.simulation.simulate",
    "simulated_device": "reelforge.simulation.device",
}

# Packages that exist under reelforge.services after the move (an old module of the same
# name became a package: `reelforge.services.jobs.<submodule>` is already new).
NEW_PACKAGES: dict[str, set[str]] = {}
for _new in MOVES.values():
    _parts = _new.split(".")
    if _parts[:2] == ["reelforge", "services"]:
        NEW_PACKAGES.setdefault(_parts[2], set()).add(_parts[3])
# ... and every module those packages hold today (one added after the move is new too).
_SERVICES = Path(__file__).resolve().parent.parent / "src" / "reelforge" / "services"
for _package, _members in NEW_PACKAGES.items():
    for _child in (_SERVICES / _package).glob("*"):
        if _child.suffix == ".py" or (_child / "__init__.py").exists():
            _members.add(_child.stem)

# Names that moved out of a module (the old module re-exports them, so other imports still
# work): an import of just that name is pointed at its new home.
NAME_MOVES: dict[str, tuple[str, str]] = {
    "AccountRef": ("reelforge.services.accounts.accounts", "reelforge.domain.account"),
}
