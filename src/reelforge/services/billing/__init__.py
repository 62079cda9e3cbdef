"""Billing and payments: charges on the job path, quotes, the credits ledger, metering, rate
limits, customers, checkout, incoming payment events (Stripe) and reports."""
