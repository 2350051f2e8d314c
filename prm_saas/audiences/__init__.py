"""Audiences (目标人群): who a campaign reaches, as a boolean expression over the
tenant's tags (``expr``) plus attribute filters."""
