"""Security controls of the gateway: secrets, security events, API docs without a CDN."""
