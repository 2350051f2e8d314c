"""Membership: cards, levels and the points ledger (issue 5)."""
