"""
HeyGen API v3 on the emulator: videos, lip-syncs, video translations, assets and the account.

Served by the same aiohttp application as the workflows API (same key, data dir, job runner,
fault injection and stats). Creates honour ``Idempotency-Key``. Nothing here imports the provider.
"""
