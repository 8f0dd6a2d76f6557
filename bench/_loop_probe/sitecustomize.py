"""
Loaded by a benchmark's emulator process only (``bench._common.emulator(loop_lag_file=...)`` puts this
folder on its ``PYTHONPATH``): while ``asyncio.run`` runs, a task sleeping 0.1 s at a time appends
``<unix time> <seconds it woke late>`` lines to ``$BENCH_LOOP_LAG_FILE``, so a benchmark can tell a late
server from a late client. Without that variable it does nothing.
"""

from __future__ import annotations

import os

_PATH = os.environ.get("BENCH_LOOP_LAG_FILE")

if _PATH:
    import asyncio
    import time
    from typing import Any

    _original_run = asyncio.run

    async def _sample(path: str) -> None:
        loop = asyncio.get_running_loop()
        with open(path, "a", buffering=1, encoding="ascii") as out:
            while True:
                woken = loop.time() + 0.1
                await asyncio.sleep(0.1)
                out.write(f"{time.time():.3f} {loop.time() - woken:.4f}\n")

    def _run_with_probe(main: Any, **kwargs: Any) -> Any:
        async def probed() -> Any:
            probe = asyncio.ensure_future(_sample(str(_PATH)))
            try:
                return await main
            finally:
                probe.cancel()

        return _original_run(probed(), **kwargs)

    asyncio.run = _run_with_probe
