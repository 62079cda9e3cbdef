"""Business analytics: pure functions from plain records (frozen dataclasses) to reports.

Nothing here touches the database or the price sheet: `services.billing.reports` loads the rows,
turns the sheet's plans into `PlanInfo` records and calls these functions, so every figure
can be checked by hand against a small event log (tests/analytics).
"""
