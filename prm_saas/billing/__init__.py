"""Platform billing: self-serve sign-up, plan limits, Stripe subscriptions and invoices."""
