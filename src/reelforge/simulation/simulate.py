"""`reelforge simulate`: a synthetic population driven through the real service layer on a
simulated clock — signups, generations, upgrades, top-ups, churn, enterprise keys and
invoices, merchants, blocked prompts, failures — so the KPI report has data to show.

Everything but the device is the real code: submit (quotes, moderation, ledger, plans,
limits, result cache), Stripe webhooks (signed locally with this run's secret), invoices,
metering, events. Jobs run on the simulated device (simulation/device.py), whose
timings come from the billing sheet's timing profiles. Every account the run creates is
marked simulated, and so is everything that belongs to it (jobs, usage, payments);
`reelforge report` leaves them out unless asked with --simulated.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from reelforge.analytics import population as pop
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.backends.simulated import simulated_backends
from reelforge.config import Settings
from reelforge.domain.account import AccountRef
from reelforge.errors import InvalidRequest, PaymentRequired, RateLimited
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.billing.charges import sheet_of
from reelforge.services.billing.payment_events import handle_stripe_webhook
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.simulation.device import placeholder_blob, run_simulated
from reelforge.storage.blobs import StoredBlob
from reelforge.webhooks.signing import sign

MAX_USERS, MAX_DAYS = 100_000, 3650


class SimClock:
    """The platform's clock during a simulation: set by the driver, read by every service."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def simulation_platform(settings: Settings, clock: SimClock) -> Platform:
    """The platform a simulation runs on: the configured database and blobs, the simulated
    models as its backends, and a webhook secret for this run if none is configured."""
    # Its jobs never reach a worker (the simulated device runs them), so their queue
    # messages stay in memory instead of the deployment's queue.
    update: dict[str, Any] = {"queue_url": "memory://"}
    if not settings.stripe_webhook_secret:
        update["stripe_webhook_secret"] = SecretStr("whsec_sim_" + secrets.token_hex(16))
    return bootstrap(
        settings.model_copy(update=update), backends=list(simulated_backends()), clock=clock
    )


@dataclass
class _Member:
    persona: pop.Persona
    ref: AccountRef
    customer: str
    subscription: str = ""


class Simulation:
    def __init__(self, p: Platform, clock: SimClock, *, users: int, days: int, seed: int):
        if not 1 <= users <= MAX_USERS:
            raise InvalidRequest(f"users must be 1-{MAX_USERS}", field="users")
        if not 1 <= days <= MAX_DAYS:
            raise InvalidRequest(f"days must be 1-{MAX_DAYS}", field="days")
        self.p, self.clock, self.users, self.days, self.seed = p, clock, users, days, seed
        self.rng = random.Random(seed)
        self.run = f"{seed}-{secrets.token_hex(3)}"
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.start = today - timedelta(days=days)  # the run covers the days before today
        self.counts: Counter[str] = Counter()
        self.members: list[_Member] = []
        self.output: StoredBlob | None = None

    # -- the run --------------------------------------------------------------------------

    def run_all(self, on_day: Callable[[int], None] | None = None) -> dict[str, Any]:
        began = time.perf_counter()
        people = pop.population(self.rng, self.users, self.days)
        self.output = placeholder_blob(self.p)
        by_day: dict[int, list[pop.Persona]] = {}
        for person in people:
            by_day.setdefault(person.signup_day, []).append(person)
        for day in range(self.days):
            midnight = self.start + timedelta(days=day)
            if midnight.day == 1 and day > 0:
                self._invoice_enterprises(midnight)
            for person in by_day.get(day, []):
                self.clock.now = midnight + timedelta(seconds=person.signup_second)
                self._sign_up(person)
            for member in self.members:
                if member.persona.renewal_day == day:
                    self.clock.now = midnight + timedelta(hours=1)
                    self._renew(member, day)
            for at, member in self._today(day, midnight):
                self.clock.now = at
                self._generate(member, day)
            if on_day is not None:
                on_day(day)
        self.clock.now = self.start + timedelta(days=self.days)
        self._invoice_enterprises(self.clock.now)
        return {
            "object": "simulation",
            "run": self.run,
            "simulated": True,
            "users": self.users,
            "days": self.days,
            "seed": self.seed,
            "from": self.start.isoformat(),
            "until": self.clock.now.isoformat(),
            "counts": dict(sorted(self.counts.items())),
            "seconds": round(time.perf_counter() - began, 1),
        }

    def _today(self, day: int, midnight: datetime) -> list[tuple[datetime, _Member]]:
        events = []
        for member in self.members:
            person = member.persona
            if not pop.active_on(self.rng, person, day):
                continue
            self.counts["active_user_days"] += 1
            if person.plan == "free" and self.rng.random() < 0.002:
                self._subscribe(member, pop.upgrade_plan(self.rng), day)
            first = person.signup_second if day == person.signup_day else 6 * 3600
            for _ in range(pop.generations_today(self.rng, person)):
                at = midnight + timedelta(seconds=self.rng.randrange(first, 24 * 3600 - 60))
                events.append((at, member))
        events.sort(key=lambda e: e[0])
        return events

    # -- people ---------------------------------------------------------------------------

    def _sign_up(self, person: pop.Persona) -> None:
        person.name = f"sim-{self.run}-{person.segment[0]}{person.index:05d}"
        enterprise = person.segment == "enterprise"
        created = customers.create(
            self.p,
            person.name,
            segment=person.segment,
            plan="enterprise" if enterprise else "free",
            simulated=True,
        )
        ref = AccountRef(created["id"], person.name, plan=created["plan"])
        if enterprise:  # an organisation: a key per team, a monthly budget for the whole
            keys = [
                accounts.create_api_key(self.p, person.name, label=f"team-{i}") for i in range(2)
            ]
            customers.set_budget(self.p, person.name, daily=None, monthly=60_000)
            ref = accounts.authenticate(self.p, self.rng.choice(keys).key)
            self.counts["enterprise_keys"] += len(keys)
        self.members.append(_Member(person, ref, f"cus_sim_{secrets.token_hex(6)}"))
        self.counts[f"signups_{person.segment}"] += 1

    def _webhook(self, etype: str, obj: dict[str, Any]) -> None:
        body = {
            "id": f"evt_sim_{secrets.token_hex(10)}",
            "object": "event",
            "type": etype,
            "created": int(self.clock.now.timestamp()),
            "livemode": False,
            "data": {"object": obj},
        }
        payload = json.dumps(body).encode()
        # the same scheme as Stripe's; its tolerance is checked on the wall clock
        secret = self.p.settings.stripe_webhook_secret
        signature = sign(secret.get_secret_value() if secret else "", payload, int(time.time()))
        handle_stripe_webhook(self.p, payload, signature)

    def _subscribe(self, member: _Member, plan: str, day: int) -> None:
        person, account_id = member.persona, member.ref.id
        sheet = sheet_of(self.p)
        cents = round(sheet.plan(plan).price_usd * 100)
        subscription = f"sub_sim_{secrets.token_hex(6)}"
        meta = {"account_id": account_id, "kind": "subscription", "plan": plan}
        self._webhook(
            "checkout.session.completed",
            {
                "id": f"cs_sim_{secrets.token_hex(8)}",
                "object": "checkout.session",
                "mode": "subscription",
                "payment_status": "paid",
                "status": "complete",
                "amount_total": cents,
                "currency": "usd",
                "customer": member.customer,
                "subscription": subscription,
                "client_reference_id": account_id,
                "metadata": meta,
            },
        )
        person.plan, person.renewal_day = plan, day + 30
        person.history.clear()
        member.ref = AccountRef(account_id, member.ref.name, key_id=member.ref.key_id, plan=plan)
        self._invoice_paid(member, subscription, meta, cents)
        self.counts[f"upgrades_{plan}"] += 1

    def _invoice_paid(
        self, member: _Member, subscription: str, meta: dict[str, str], cents: int
    ) -> None:
        start = int(self.clock.now.timestamp())
        self._webhook(
            "invoice.paid",
            {
                "id": f"in_sim_{secrets.token_hex(8)}",
                "object": "invoice",
                "customer": member.customer,
                "amount_paid": cents,
                "currency": "usd",
                "status": "paid",
                "billing_reason": "subscription_cycle",
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": subscription, "metadata": meta},
                },
                "lines": {
                    "object": "list",
                    "data": [
                        {
                            "id": f"il_sim_{secrets.token_hex(6)}",
                            "object": "line_item",
                            "amount": cents,
                            "currency": "usd",
                            "metadata": meta,
                            "period": {"start": start, "end": start + 30 * 86400},
                        }
                    ],
                },
            },
        )
        member.subscription = subscription

    def _renew(self, member: _Member, day: int) -> None:
        person = member.persona
        subscription = member.subscription
        meta = {"account_id": member.ref.id, "kind": "subscription", "plan": person.plan}
        if self.rng.random() < 0.12:
            self._webhook(
                "customer.subscription.deleted",
                {
                    "id": subscription,
                    "object": "subscription",
                    "status": "canceled",
                    "customer": member.customer,
                    "metadata": meta,
                },
            )
            person.plan, person.renewal_day = "free", None
            member.ref = AccountRef(member.ref.id, member.ref.name, plan="free")
            person.churned = self.rng.random() < 0.5  # half of them leave for good
            self.counts["subscriptions_ended"] += 1
            return
        sheet = sheet_of(self.p)
        self._invoice_paid(
            member, subscription, meta, round(sheet.plan(person.plan).price_usd * 100)
        )
        person.renewal_day = day + 30
        self.counts["renewals"] += 1

    def _top_up(self, member: _Member) -> None:
        sheet = sheet_of(self.p)
        name = self.rng.choice(sorted(sheet.topups.packs))
        pack = sheet.topups.packs[name]
        account_id = member.ref.id
        self._webhook(
            "checkout.session.completed",
            {
                "id": f"cs_sim_{secrets.token_hex(8)}",
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "status": "complete",
                "amount_total": round(pack.price_usd * 100),
                "currency": "usd",
                "customer": member.customer,
                "client_reference_id": account_id,
                "metadata": {
                    "account_id": account_id,
                    "kind": "topup",
                    "pack": name,
                    "credits": str(pack.credits),
                },
            },
        )
        self.counts["topups"] += 1

    def _invoice_enterprises(self, at: datetime) -> None:
        self.clock.now = at
        month = (at - timedelta(days=1)).strftime("%Y-%m")
        for member in self.members:
            if member.persona.segment == "enterprise":
                customers.invoice(self.p, member.ref.name, month=month)
                self.counts["enterprise_invoices"] += 1

    # -- generations ----------------------------------------------------------------------

    def _generate(self, member: _Member, day: int) -> None:
        person = member.persona
        req = pop.request(self.rng, person)
        fields: dict[str, Any] = {
            "prompt": req.prompt,
            "mode": "text2video",
            "model": req.model,
            "duration": req.duration,
            "resolution": req.resolution,
        }
        if req.preset:
            fields["preset"] = req.preset
        if req.seed is not None:
            fields["seed"] = req.seed
        for attempt in range(2):
            try:
                job = submit_job(self.p, member.ref, SubmitRequest.parse(fields)).job
                break
            except PaymentRequired:
                self.counts["refused_insufficient_credits"] += 1
                if attempt or not self._pay_more(member, day):
                    return
            except RateLimited as exc:
                self.counts[f"refused_{exc.code}"] += 1
                return
        self.counts["requests"] += 1
        if req.seed is not None and not req.repeat and not req.harmful:
            person.history.append(
                {
                    k: getattr(req, k)
                    for k in (
                        "model",
                        "resolution",
                        "preset",
                        "duration",
                        "prompt",
                        "seed",
                        "harmful",
                    )
                }
            )
        if job["status"] != "queued":
            self.counts[f"jobs_{job['status']}" + ("_cache_hit" if job["cache_hit"] else "")] += 1
            return
        if req.cancel:
            queries.cancel_job(self.p, member.ref, job["id"])
            self.counts["jobs_cancelled"] += 1
            return
        result = run_simulated(
            self.p, job["id"], fail=pop.fails(self.rng, req.model), output=self.output
        )
        if result is not None:
            self.counts[f"jobs_{result['status']}"] += 1

    def _pay_more(self, member: _Member, day: int) -> bool:
        """Out of credits: a free user may upgrade, a paying one may top up."""
        person = member.persona
        if person.segment == "enterprise":
            return False
        if person.plan == "free":
            if self.rng.random() < 0.05:
                self._subscribe(member, pop.upgrade_plan(self.rng), day)
                return True
            return False
        if self.rng.random() < 0.3:
            self._top_up(member)
            return True
        return False
