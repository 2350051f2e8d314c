"""Patient tags: manual and rule-owned (auto) tags, tag rules and their history."""
