"""
The HeyGen view in Airflow: a plugin the api-server loads (``get_provider_info()["plugins"]``), serving
server-rendered pages and JSON under ``/heygen``. Design: ``docs/ui.md``.

Nothing here is imported by the operators, hooks or triggers: parsing a DAG never loads FastAPI.
"""
