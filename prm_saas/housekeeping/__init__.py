"""Housekeeping: periodic deletion of rows that no longer serve anyone
(ended sign-in sessions, spent reset codes and SSO login states, stale login
throttles). Services in services.py, Celery tasks in tasks.py."""
