"""FHIR HTTP plumbing: responses, errors, CapabilityStatement."""
