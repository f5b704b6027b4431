"""How a token travels with a request: the ``Authorization: Bearer`` header (``bearer``), the
browser transport of ``__Host-`` cookies with CSRF double-submit (``browser``), and the
fingerprint cookie that binds a token to the browser it was issued to (``fingerprint``).

Framework-free: the server and every integration read requests through these.
"""

__all__: list[str] = []  # the modules are the public faces: import from them
