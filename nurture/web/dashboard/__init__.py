"""The web dashboard under /dashboard: the pipeline reports as server-rendered pages with
inline SVG charts, the stale and unassigned leads, and each lead's timeline, behind a login
(users from `[dashboard]` in the config) or the API token."""
