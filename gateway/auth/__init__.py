"""SMART Backend Services: client assertions in, access tokens out."""
