"""
Defaults of the connection's extras, stated once. Imports nothing: the provider info (read while
Airflow itself is still starting) builds the connection form's descriptions from them.
"""

DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_MIN_DELAY = 1.0
DEFAULT_RETRY_MAX_DELAY = 30.0
# Cap on a server's Retry-After, so a worker is never parked for hours.
DEFAULT_MAX_RETRY_AFTER = 120.0
DEFAULT_REQUEST_TIMEOUT = 30.0
