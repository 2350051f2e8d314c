"""The tenancy kernel: tenants, tenant context, the one session factory.

Everything else in the product stands on this package and nothing here imports
from prm_saas, components or pages.
"""
