"""Orders and payments: Stripe PaymentIntents or pay at the clinic, refunds, webhooks."""
