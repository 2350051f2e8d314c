"""Automations (journeys): a trigger enrolls a patient, steps wait, message and branch."""
