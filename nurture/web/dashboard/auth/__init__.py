"""Who may see the dashboard: password hashes, signed session cookies and CSRF tokens, and
the dependency that lets a request in (session or API token) or sends it to the login page."""
