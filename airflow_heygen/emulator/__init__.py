"""Local HeyGen emulator: a real HTTP server speaking HeyGen's workflows contract and API v3.

Start it with ``heygen-emulator`` or ``python -m airflow_heygen.emulator``; from Python tests use
:func:`airflow_heygen.emulator.testing.run_emulator`. This package never imports Airflow or the
provider modules, and the provider never imports it. Keep this module free of heavy imports.
"""
