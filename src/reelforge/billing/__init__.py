"""Unit economics: the billing sheet (prices, plans, device rates) and its arithmetic.
The ledger, metering and payments that use it live in the services."""
