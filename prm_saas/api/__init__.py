"""HTTP routes beside Reflex, mounted through rx.App(api_transformer=...).

Each module contributes a list of Starlette routes:
- health.py: /api/health (database and broker reachable)
- sso.py: /api/sso/... OpenID Connect sign-in for staff
- webhooks.py: /api/webhooks/<provider> (payment and SMS callbacks land here)
"""
