"""The audit trail: FHIR-AuditEvent-shaped rows of audit_events in one hash chain."""
