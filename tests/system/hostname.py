"""
``[core] hostname_callable`` of the services harness: each component instance reports the hostname in
``HEYGEN_SERVICES_HOSTNAME`` (its instance name, e.g. ``celery-worker-2``), so that the job table and the
task instances tell instances on one machine apart. Falls back to the machine's name.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """The instance's hostname from ``HEYGEN_SERVICES_HOSTNAME``, else the machine's fully qualified name."""
    return os.environ.get("HEYGEN_SERVICES_HOSTNAME") or socket.getfqdn()
