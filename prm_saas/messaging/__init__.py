"""The messaging engine: one outbox for every message the product sends.

outbox.py    enqueue (idempotent on a dedupe key) and claim due rows
delivery.py  expiry, quiet hours, consent, caps, rendering, the provider call
channels.py  email (SMTP), SMS (HTTP provider), in-app inbox
templates.py the template registry and each tenant's wording; catalog.py the
             engine's own templates (account mail, reminders, tips)
preferences.py settings, consent, unsubscribe links, usage counters
log.py       the delivery log and the patient's inbox
tasks.py     beat -> per-tenant dispatch -> send batches
"""
