"""provider_registry package."""
