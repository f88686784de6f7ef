"""Compiled (Cython) kernels. Same API as ``zako.pure``; see ``zako._impl``."""
