"""Build microdl: one C extension (cext/ + the Cython engine)."""
import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

DEBUG = os.environ.get("MICRODL_DEBUG") == "1"

extra_compile_args = ["-std=c99", "-O3", "-fno-strict-aliasing"]
if DEBUG:
    extra_compile_args = ["-std=c99", "-O0", "-g", "-fno-strict-aliasing"]
extra_link_args = []
if os.name == "nt":
    extra_compile_args = ["/O2"]
else:
    # POSIX threads for the worker pool (num_threads > 1, cext/src/engine.c).
    extra_compile_args.append("-pthread")
    extra_link_args.append("-pthread")

ext = Extension(
    "microdl.runtime._engine",
    # Operators in cext/src, their microkernels in cext/src/ukernels (cext/README.md).
    sources=["microdl/runtime/_engine.pyx"] + sorted(glob.glob("cext/src/*.c")) +
    sorted(glob.glob("cext/src/ukernels/*.c")),
    include_dirs=["cext/include", np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
)

# The embedded default models (firmware_models/ at the repository root) ship inside the
# package as microdl/firmware_models, so `microdl-run` works from a wheel or an sdist
# install (microdl.utils.firmware_dir finds either).
FIRMWARE = "microdl.firmware_models"

setup(
    packages=find_packages(include=["microdl", "microdl.*"]) + [FIRMWARE],
    package_dir={FIRMWARE: "firmware_models"},
    ext_modules=cythonize(
        [ext],
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "wraparound": DEBUG,
        },
    ),
    package_data={"microdl": ["py.typed", "npu/MODEL.md"],
                  FIRMWARE: ["README.md", "*/*.tflite", "*/*.npz", "*/report.json"]},
    zip_safe=False,
)
