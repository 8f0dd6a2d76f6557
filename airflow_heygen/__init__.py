"""Apache Airflow provider for HeyGen's video workflow API."""

from __future__ import annotations

__version__ = "0.1.0"
