"""Server-rendered staff pages: templates, static assets, security headers."""
