"""Pure FHIR R4B <-> SSO claim mapping, profile rules and outgoing resources.

Nothing here imports a web framework or a database.
"""
