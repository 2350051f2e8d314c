"""Append-only audit log, per tenant and for the platform."""
