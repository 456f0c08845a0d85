"""Metering and billing service: accounts, plans, API keys, usage, budgets, invoices."""
