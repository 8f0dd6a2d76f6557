"""Constants the operator modules share, in a module of their own so that they import no operator."""

from __future__ import annotations

DEFAULT_CONN_ID = "heygen_default"
