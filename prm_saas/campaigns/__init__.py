"""Campaigns: content per channel and variant, schedules, throttled release of a
snapshotted audience through the messaging engine, and the campaign report."""
