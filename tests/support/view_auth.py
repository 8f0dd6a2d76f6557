"""
An auth manager for the HeyGen view's tests: Airflow's simple auth manager, except that the user
``viewer`` may not read the DAG :data:`DENIED_DAG` (the simple auth manager's roles have no per-DAG
permissions; a real deployment's auth manager does).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

DENIED_USER = "viewer"
DENIED_DAG = "heygen_view_video"


class OneDagDeniedAuthManager(SimpleAuthManager):
    """The simple auth manager denying :data:`DENIED_USER` every access to :data:`DENIED_DAG`."""

    def is_authorized_dag(
        self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        """Deny :data:`DENIED_USER` :data:`DENIED_DAG`; otherwise what the simple auth manager says."""
        if user.get_name() == DENIED_USER and (details is None or details.id in (None, DENIED_DAG)):
            return False
        return super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
