#!/usr/bin/env python3
# What oneDNN's kernel cache is worth, and what a miss costs (docs/performance.md, "oneDNN's kernel
# cache"): GELU over 640 input shapes three times, 2 threads. libtorch 1.13 runs float32 GELU
# through oneDNN, which JIT-compiles one kernel per shape and keeps ONEDNN_PRIMITIVE_CACHE_CAPACITY
# of them (1024 by default).
#
#   /usr/bin/python3 bench/gelu_kernels.py                                   # oneDNN, its default
#   ONEDNN_PRIMITIVE_CACHE_CAPACITY=64 /usr/bin/python3 bench/gelu_kernels.py # every call a miss
#   /usr/bin/python3 bench/gelu_kernels.py --no-onednn                       # PyTorch's own kernel
import os
import sys
import time

import torch

torch.set_num_threads(2)
if '--no-onednn' in sys.argv:
    torch.backends.mkldnn.enabled = False


def rss_kib():
    with open('/proc/self/status') as f:
        return int(f.read().split('VmRSS:')[1].split()[0])


shapes = [(b, n) for b in range(1, 17) for n in range(20, 60)]
inputs = {s: torch.randn(s[0], s[1], 512) for s in shapes}
torch.nn.functional.gelu(inputs[shapes[0]])
before = rss_kib()


def one_pass():
    t = time.perf_counter()
    for s in shapes:
        torch.nn.functional.gelu(inputs[s])
    return (time.perf_counter() - t) / len(shapes) * 1e6


first = one_pass()
grown = (rss_kib() - before) / 1024
second, third = one_pass(), one_pass()
print(f"{'oneDNN' if torch.backends.mkldnn.enabled else 'PyTorch kernel'}, cache "
      f"{os.environ.get('ONEDNN_PRIMITIVE_CACHE_CAPACITY', 'default')}: first pass {first:.0f} us a call "
      f"(RSS +{grown:.1f} MiB), then {second:.0f} and {third:.0f} us")
