"""Platform operations: onboarding tenants, their lifecycle, operators."""
