"""Notifications to hospitals: FHIR rest-hook Subscriptions fed from the outbox."""
