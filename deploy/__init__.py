"""Deployment files, and the container rehearsal: `python -m deploy.rehearse` (make rehearse)."""
