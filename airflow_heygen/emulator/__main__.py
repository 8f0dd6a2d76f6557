"""``heygen-emulator`` / ``python -m airflow_heygen.emulator``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """
    Parse flags and environment, then serve until SIGTERM or SIGINT.

    :param argv: arguments without the program name; ``sys.argv[1:]`` when None.
    """
    from airflow_heygen.emulator.config import load_config
    from airflow_heygen.emulator.server import run

    config = load_config(argv)
    logging.basicConfig(
        level=config.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sys.exit(run(config))


if __name__ == "__main__":
    main()
