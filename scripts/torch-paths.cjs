// Prints libtorch build settings for binding.gyp (node-gyp cannot run CMake's find_package).
// Same selection rule as CMakeLists.txt: BERT_SERVE_LIBTORCH=/path/to/libtorch (a libtorch root or
// a pip torch's cmake prefix such as .../site-packages/torch/share/cmake) or Debian's libtorch-dev.
//   node scripts/torch-paths.cjs includes|libdir|libs|abi|cuda
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function root() {
  let r = process.env.BERT_SERVE_LIBTORCH;
  if (!r) return null;
  // Accept a cmake prefix (…/torch/share/cmake) as well as a libtorch root (…/torch).
  if (/share[\\/]cmake[\\/]?$/.test(r)) r = path.resolve(r, '..', '..');
  return r;
}

const r = root();
const includes = r
  ? [path.join(r, 'include'), path.join(r, 'include', 'torch', 'csrc', 'api', 'include')]
  : ['/usr/include/torch/csrc/api/include'];
const libdir = r ? path.join(r, 'lib') : '/usr/lib/x86_64-linux-gnu';
const cuda = fs.existsSync(path.join(libdir, 'libtorch_cuda.so'));
const libs = ['-ltorch', '-ltorch_cpu', '-lc10'].concat(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []);

function abi() {
  // TorchConfig.cmake records the flag the library was built with; a mismatch links but crashes.
  const cfg = r ? path.join(r, 'share', 'cmake', 'Torch', 'TorchConfig.cmake') : '/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake';
  try {
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(fs.readFileSync(cfg, 'utf8'));
    if (m) return m[1];
  } catch {
    /* fall through */
  }
  return '1';
}

const what = process.argv[2];
const out = {
  includes: includes.join(' '),
  libdir,
  libs: libs.join(' '),
  abi: abi(),
  cuda: cuda ? '1' : '0',
}[what];
if (out === undefined) {
  process.stderr.write('usage: torch-paths.cjs includes|libdir|libs|abi|cuda\n');
  process.exit(2);
}
process.stdout.write(out + '\n');
