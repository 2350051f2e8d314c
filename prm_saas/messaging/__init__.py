"""Delivery of messages to people.

Today: direct email over SMTP (or the console in development) for account
mail (password-reset codes, staff invitations). The messaging engine (outbox,
channels, quiet hours, consent) will route these through the outbox.
"""
