"""One WSGI app per framework, each serving the same benchmark scenarios.

Every module exposes a WSGI callable named ``app``. The data the apps share (secret key,
template items, decoy count) lives in :mod:`apps._shared` so the responses stay identical.
"""
