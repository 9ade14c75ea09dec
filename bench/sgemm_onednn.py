#!/usr/bin/python3
"""float32 GEMM rates: libtorch's linear (OpenBLAS) against oneDNN (libdnnl.so.2, which libtorch loads): its
dnnl_sgemm, and its inner product with the weight reordered once (libtorch's mkldnn_linear, as torch.utils.mkldnn
runs it: the input converted to oneDNN's layout and the output back, both timed), at the trunk's shapes with 288 rows (an uncached forward) and 32 to 128 rows (cached block forwards), and the LM head.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \\
        flock /tmp/remask-bench.lock /usr/bin/python3 bench/sgemm_onednn.py

The OpenMP OpenBLAS via LD_LIBRARY_PATH: Debian's python3-torch would otherwise load the pthread build
(libremask's RPATH choice, bench/README.md "Threads and BLAS"). 2 threads; the median of 15 calls per shape.
"""
import ctypes
import time

import torch

torch.set_num_threads(2)
sgemm = ctypes.CDLL("libdnnl.so.2").dnnl_sgemm
sgemm.argtypes = [ctypes.c_char, ctypes.c_char] + [ctypes.c_int64] * 3 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int64,
                                                                           ctypes.c_void_p, ctypes.c_int64, ctypes.c_float,
                                                                           ctypes.c_void_p, ctypes.c_int64]


def median_ms(fn, n=15):
    for _ in range(3):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[n // 2] * 1e3


for T, K, N in [(288, 1024, 3072), (288, 3072, 1024), (288, 1024, 1024), (192, 1024, 3072), (128, 1024, 3072), (64, 1024, 3072),
                (32, 1024, 3072), (32, 3072, 1024), (32, 1024, 126464)]:
    x, w, y = torch.randn(T, K), torch.randn(N, K), torch.empty(T, N)
    onednn = lambda: sgemm(b"N", b"T", T, N, K, 1.0, x.data_ptr(), K, w.data_ptr(), K, 0.0, y.data_ptr(), N)  # noqa: E731
    reordered = w.to_mkldnn()
    inner = lambda: torch._C._nn.mkldnn_linear(x.to_mkldnn(), reordered, None).to_dense()  # noqa: E731
    onednn()
    assert (y - x @ w.t()).abs().max() < 1e-3 and (inner() - x @ w.t()).abs().max() < 1e-3
    gflop = 2 * T * K * N / 1e9
    blas = median_ms(lambda: torch.nn.functional.linear(x, w))
    dnnl = median_ms(onednn)
    ip = median_ms(inner)
    print(f"[{T}x{K}]x[{K}x{N}]: OpenBLAS {gflop / blas * 1e3:.0f} GFLOP/s, dnnl_sgemm {gflop / dnnl * 1e3:.0f} GFLOP/s, "
          f"mkldnn_linear {gflop / ip * 1e3:.0f} GFLOP/s")
