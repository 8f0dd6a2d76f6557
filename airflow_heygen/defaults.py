"""
Defaults of the connection's extras, stated once. Imports nothing: the provider info (read while
Airflow itself is still starting) builds the connection form's descriptions from them.
"""

DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_MIN_DELAY = 1.0
DEFAULT_RETRY_MAX_DELAY = 30.0
# Cap on a server's Retry-After, so a worker is never parked for hours.
DEFAULT_MAX_RETRY_AFTER = 120.0
# Reads and deletes: HeyGen's CLI allows reads 30 s.
DEFAULT_REQUEST_TIMEOUT = 30.0
# Creates (POST) and uploads: HeyGen's creates take about 30 s at the 99th percentile (POST /v3/videos,
# POST /v3/assets), and HeyGen's CLI allows them 120 s; a create cut off at 30 s is repeated for no gain.
DEFAULT_CREATE_TIMEOUT = 120.0
