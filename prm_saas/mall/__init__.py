"""The health-check mall (体检商城): packages, items, categories, add-ons."""
