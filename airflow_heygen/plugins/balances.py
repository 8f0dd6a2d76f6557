"""
The balance of each HeyGen connection's account, read from HeyGen (``GET /v3/users/me``) at most once
a minute per connection, whoever asks. Only the account's summary leaves this module, never the key.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow_heygen.plugins.settings import BALANCE_TTL_SECONDS

log = logging.getLogger(__name__)
CONN_TYPE = "heygen"
ENV_PREFIX = "AIRFLOW_CONN_"


@dataclass(frozen=True)
class Balance:
    """
    What one connection's account has left.

    :param conn_id: the connection.
    :param summary: who the account is and what is left (``Account.text()``), or None when unread.
    :param remaining_usd: what may still be spent in US dollars, where the account says it in dollars.
    :param error: why it could not be read (the error's type only).
    :param read_at: ``time.time()`` of the read.
    """

    conn_id: str
    summary: str | None
    remaining_usd: float | None
    error: str | None
    read_at: float


def _env_conn_type(value: str) -> str | None:
    """The type of an ``AIRFLOW_CONN_*`` value: JSON's ``conn_type`` or a URI's scheme."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return str(data.get("conn_type")) if isinstance(data, dict) else None
    return text.partition("://")[0].replace("-", "_") if "://" in text else None


def heygen_conn_ids() -> list[str]:
    """The ids of the HeyGen connections: the metadata database's and the environment's."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ids = set(session.scalars(select(Connection.conn_id).where(Connection.conn_type == CONN_TYPE)))
    for name, value in os.environ.items():
        if name.startswith(ENV_PREFIX) and _env_conn_type(value) == CONN_TYPE:
            ids.add(name[len(ENV_PREFIX) :].lower())
    return sorted(ids)


def read_balance(conn_id: str) -> Balance:
    """
    Read one connection's account from HeyGen now.

    :param conn_id: the HeyGen connection.
    """
    from airflow_heygen.hooks.heygen import HeyGenHook

    hook = HeyGenHook(heygen_conn_id=conn_id)
    try:
        account = hook.get_account()
    except Exception as err:
        log.warning("Could not read the HeyGen account of connection %s: %s", conn_id, type(err).__name__)
        return Balance(conn_id, None, None, type(err).__name__, time.time())
    finally:
        hook.close()
    return Balance(conn_id, account.text(), account.remaining_usd, None, time.time())


class BalanceCache:
    """
    Balances by connection, each read again only once it is ``ttl`` seconds old.

    :param read: reads one connection's balance.
    :param ttl: seconds a balance is shown before it is read again.
    :param clock: the time, in seconds (monotonic).
    """

    def __init__(
        self,
        read: Callable[[str], Balance] = read_balance,
        ttl: float = BALANCE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._balances: dict[str, tuple[float, Balance]] = {}

    def get(self, conn_id: str) -> Balance:
        """
        ``conn_id``'s balance, read from HeyGen only when the last read is over ``ttl`` seconds old.

        :param conn_id: the HeyGen connection.
        """
        with self._lock:
            held = self._balances.get(conn_id)
            if held is not None and self.clock() - held[0] < self.ttl:
                return held[1]
            balance = self.read(conn_id)
            self._balances[conn_id] = (self.clock(), balance)
            return balance
