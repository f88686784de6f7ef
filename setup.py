"""Build script: compiles the Cython kernels in zako/_core.

``ZAKO_PURE=1`` at build time skips compilation (a pure-Python install, and
with ``python -m build --wheel`` a ``py3-none-any`` wheel).
Otherwise every ``zako/_core/*.pyx`` is compiled and a compile error fails the
build: a wheel must never ship without its kernels by accident.

Cythonizing happens in ``build_ext``, not when this file is read, so making an
sdist needs neither Cython nor numpy and writes no ``.c`` files into the tree;
the wheel built from that sdist generates them with its own build environment's
Cython. Kernels are compiled with ``-g0``: Python's own CFLAGS carry ``-g``,
which put about 3 MiB of DWARF into every wheel (2.1 MiB -> 0.36 MiB for the
interner alone).
"""

import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_TRUE = {"1", "true", "yes", "on"}


class _CythonBuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        # The three kernels are independent: compile them side by side unless
        # the caller chose (``build_ext -j N``).
        if self.parallel is None:
            self.parallel = True

    def run(self):
        # Here, not in finalize_options: sdist finalizes build_ext too (to
        # list the sources), and must get the .pyx without needing Cython.
        import numpy
        from Cython.Build import cythonize

        for ext in self.extensions:
            if numpy.get_include() not in ext.include_dirs:
                ext.include_dirs.append(numpy.get_include())
        # cythonize returns new Extension objects; setuptools has already
        # annotated the ones it holds (finalize_options), so only their
        # sources change: .pyx -> the generated .c.
        generated = cythonize(
            self.extensions,
            compiler_directives={"language_level": "3", "embedsignature": True},
            annotate=os.environ.get("ZAKO_ANNOTATE", "") in _TRUE,
            quiet=True,
        )
        by_name = {ext.name: ext for ext in generated}
        for ext in self.extensions:
            ext.sources = by_name[ext.name].sources
        super().run()

    def build_extensions(self):
        # Pythons built with --enable-shared (pyenv's) put
        # -Wl,-rpath,<their lib dir> into LDSHARED. The kernels never link
        # libpython (NEEDED is libc alone), so that path would only carry the
        # build machine's directory layout into a release wheel.
        linker = getattr(self.compiler, "linker_so", None)
        if linker:
            self.compiler.linker_so = [a for a in linker if not a.startswith("-Wl,-rpath")]
        super().build_extensions()


def _extensions():
    if os.environ.get("ZAKO_PURE", "").strip().lower() in _TRUE:
        return []
    sources = sorted(glob.glob(os.path.join("zako", "_core", "*.pyx")))
    return [
        Extension(
            "zako._core." + os.path.splitext(os.path.basename(src))[0],
            [src],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            # Last on the command line, so -g0 wins over the -g in Python's CFLAGS.
            extra_compile_args=["-O3", "-g0"],
        )
        for src in sources
    ]


setup(ext_modules=_extensions(), cmdclass={"build_ext": _CythonBuildExt})
