"""Keys bound to one algorithm each, the keyring that looks them up by `kid`, and secrets."""

from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import ECKey, EdDSAKey, HMACKey, Key, RSAKey, generate_key, key_from_pem
from jwtauth.keys.keyring import KeyRing

__all__ = [
    "Algorithm",
    "ECKey",
    "EdDSAKey",
    "HMACKey",
    "Key",
    "KeyRing",
    "RSAKey",
    "generate_key",
    "key_from_pem",
]
