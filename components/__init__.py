"""Reusable UI pieces: layouts, forms, tables, the translation helper."""
