"""The claimgw command line."""
