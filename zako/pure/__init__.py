"""Pure-Python kernels: the readable reference for ``zako._core``."""
