"""What the synchronous (WSGI) adapters share: verification on the request thread, and one
background event loop per process for everything asynchronous.

Verification never needs a loop: :meth:`TokenManager.verify` is synchronous and asks the
revocation view, which is process memory. What is asynchronous is the stores' life (a Redis
store subscribes and follows its channel from an asyncio task) and the rare writes (logout,
refresh rotation, a deactivated user). :class:`SyncRuntime` runs those on one event loop in a
daemon thread, started on first use in each process: never a loop per request, and a gunicorn
worker forked from a parent that had started one starts its own (the thread does not survive
``fork``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from jwtauth.errors import ConfigurationError, UnknownKeyError
from jwtauth.integrations._http import Authenticator, CookieReader
from jwtauth.types import Claims, RevocationStore

__all__ = ["SyncRuntime"]

T = TypeVar("T")
_NO_PROCESS = -1


class SyncRuntime:
    """An :class:`Authenticator` for a synchronous framework, with its background loop.

    Args:
        authenticator: verifies the tokens; its stores are started on the background loop.
        revocations: the store logout and refresh rotation write to (the one whose view the
            authenticator's manager consults).
        timeout: seconds a start-up, shutdown or write may take before it is given up.
    """

    __slots__ = ("_lock", "_loop", "_pid", "_thread", "authenticator", "revocations", "timeout")

    def __init__(
        self,
        authenticator: Authenticator,
        *,
        revocations: RevocationStore | None = None,
        timeout: float = 10.0,
    ) -> None:
        view = authenticator.manager.revocations
        if revocations is not None and view is not revocations.view:
            raise ConfigurationError("the authenticator does not consult this revocation store")
        self.authenticator = authenticator
        self.revocations = revocations
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pid = _NO_PROCESS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # Verification ------------------------------------------------------------------------------

    def verify(self, authorization: str | None, cookie: CookieReader) -> Claims:
        """The claims of the request's token, on the calling thread.

        A token naming an unknown `kid` is retried once through the key source (a JWKS
        refetch, on the background loop); every other outcome is decided without it.

        Raises:
            TokenError: as :meth:`Authenticator.verify`.
        """
        if self._pid != os.getpid():
            self.start()
        try:
            return self.authenticator.verify(authorization, cookie)
        except UnknownKeyError:
            return self.call(self.authenticator.authenticate(authorization, cookie))

    # The background loop -----------------------------------------------------------------------

    def start(self) -> None:
        """Start this process's loop and the authenticator's stores on it (idempotent).

        Raises whatever the stores raise when they cannot start (Redis unreachable): a process
        must not serve with an empty revocation view.
        """
        with self._lock:
            if self._pid == os.getpid():
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="jwtauth-background", daemon=True
            )
            thread.start()
            try:
                asyncio.run_coroutine_threadsafe(self.authenticator.start(), loop).result(
                    self.timeout
                )
            except BaseException:
                _stop(loop, thread)
                raise
            self._loop, self._thread, self._pid = loop, thread, os.getpid()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the background loop and wait (at most :attr:`timeout`) for it."""
        if self._pid != os.getpid():
            self.start()
        loop = self._loop
        if loop is None:  # pragma: no cover - start() either set it or raised
            raise ConfigurationError("the background loop is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(self.timeout)

    def close(self) -> None:
        """Close the stores and stop the loop (tests, and a clean worker exit)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None or self._pid != os.getpid():
                return
            try:
                asyncio.run_coroutine_threadsafe(self.authenticator.close(), loop).result(
                    self.timeout
                )
            finally:
                _stop(loop, thread)
                self._loop = self._thread = None
                self._pid = _NO_PROCESS


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
