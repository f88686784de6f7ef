"""Developer helper: compile ONE kernel in place, with an annotated HTML report.

    python tools/build_ext.py interner      # -> zako/_core/interner.*.so + .html

Building one extension at a time lets several kernels be worked on at once
without racing on shared build directories. ``pip install -e .`` builds all.
"""

import os
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

name = sys.argv[1]
os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ext = Extension(
    f"zako._core.{name}",
    [f"zako/_core/{name}.pyx"],
    include_dirs=[numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=["-O3"],
)
setup(
    name=f"zako-dev-{name}",
    script_args=["-q", "build_ext", "--inplace", "--build-temp", f"build/tmp-{name}"],
    ext_modules=cythonize([ext], compiler_directives={"language_level": "3"}, annotate=True, quiet=True),
)
print(f"built zako._core.{name} (annotation: zako/_core/{name}.html)")
