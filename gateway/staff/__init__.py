"""Staff sign-in: sessions for pages, short bearer tokens for scripts, role checks."""
