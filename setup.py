"""Builds learned-codec and its native extension learned_codec._C.

C++ kernels (csrc/cpu) are always compiled; CUDA kernels (csrc/cuda) are
compiled when a CUDA build of torch and nvcc are both present, unless
LEARNED_CODEC_NO_CUDA=1. Install with

    pip install --no-build-isolation -e .

(`--no-build-isolation` so the build uses the torch already installed from
requirements.txt instead of fetching another one into a throw-away env).
"""
import glob
import os
import re
import shutil

from setuptools import find_packages, setup


def _find_cuda_home():
    """The CUDA toolkit folder, or None.

    torch.utils.cpp_extension guesses CUDA_HOME from the `nvcc` on PATH; when
    that nvcc is a wrapper script (as on our build machines) the guess is wrong
    and linking fails on -lcudart, so resolve the real toolkit here first.
    """
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    nvcc = shutil.which("nvcc")
    candidates = []
    if nvcc:
        real = os.path.realpath(nvcc)
        candidates.append(os.path.dirname(os.path.dirname(real)))
        try:
            with open(real, "rb") as f:
                head = f.read(4096)
            if head.startswith(b"#!"):  # wrapper script: look for the nvcc it execs
                for m in re.finditer(rb"(/[^\s\"']+)/bin/nvcc", head):
                    candidates.append(m.group(1).decode())
        except OSError:
            pass
    candidates += sorted(glob.glob("/usr/local/cuda*"), reverse=True)
    for c in candidates:
        if os.path.isfile(os.path.join(c, "include", "cuda_runtime.h")) and os.path.exists(
            os.path.join(c, "bin", "nvcc")
        ):
            return c
    return None


def _extensions():
    cuda_home = None if os.environ.get("LEARNED_CODEC_NO_CUDA") == "1" else _find_cuda_home()
    if cuda_home:
        os.environ["CUDA_HOME"] = cuda_home  # must precede the cpp_extension import
    # Default to the data-centre GPUs we target (A100, H100) plus PTX, instead of
    # every architecture of the torch build (slow to compile, no GPU to detect).
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX")
    import torch
    from torch.utils import cpp_extension

    with_cuda = bool(cuda_home) and torch.version.cuda is not None
    here = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(glob.glob(os.path.join("csrc", "cpu", "*.cpp"))) + ["csrc/bindings.cpp"]
    cxx = ["-O3", "-fopenmp", "-std=c++17"]
    define_macros = []
    kwargs = {}
    if with_cuda:
        sources += sorted(glob.glob(os.path.join("csrc", "cuda", "*.cu")))
        define_macros.append(("LC_WITH_CUDA", None))
        kwargs["extra_compile_args"] = {"cxx": cxx, "nvcc": ["-O3", "-std=c++17", "-DLC_WITH_CUDA"]}
        print(f"learned-codec: building CUDA kernels with CUDA_HOME={cuda_home} "
              f"(torch CUDA {torch.version.cuda}, archs {os.environ['TORCH_CUDA_ARCH_LIST']})")
        ext_cls = cpp_extension.CUDAExtension
    else:
        kwargs["extra_compile_args"] = {"cxx": cxx}
        print("learned-codec: building CPU kernels only (no nvcc or CPU-only torch)")
        ext_cls = cpp_extension.CppExtension
    ext = ext_cls(
        "learned_codec._C",
        sources,
        include_dirs=[os.path.join(here, "csrc")],
        define_macros=define_macros,
        extra_link_args=["-fopenmp"],
        **kwargs,
    )
    # The kernels use no libtorch symbols: drop the torch libraries so that
    # `import learned_codec._C` works without importing torch first.
    torch_libs = {"c10", "torch", "torch_cpu", "torch_python", "c10_cuda", "torch_cuda"}
    ext.libraries = [lib for lib in ext.libraries if lib not in torch_libs]
    if with_cuda:  # static runtime: no libcudart.so needed at import time
        ext.libraries = [lib for lib in ext.libraries if lib != "cudart"] + ["cudart_static", "rt", "dl"]
    return [ext], {"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)}


ext_modules, cmdclass = _extensions()

setup(
    name="learned-codec",
    version="0.1.0",
    description="Learned image and video compression of small frames, with native C++/CUDA kernels",
    packages=find_packages(include=["learned_codec", "learned_codec.*", "data_tools", "data_tools.*"]),
    package_data={"learned_codec": ["weights/*/*.json", "weights/*/*.safetensors"]},
    python_requires=">=3.10",
    ext_modules=ext_modules,
    cmdclass=cmdclass,
    entry_points={"console_scripts": ["learned-codec=learned_codec.cli:main"]},
    zip_safe=False,
)
