"""A tenant's own settings: branding, region, single sign-on."""
