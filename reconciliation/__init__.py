"""Reconciliation: per flow and period, what Kashflow holds against what the ERP holds (see docs/reconciliation.md)."""
