"""Payment runs: approved claims closed into one batch per hospital, statements, confirmation."""
