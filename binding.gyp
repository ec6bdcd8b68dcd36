# node-gyp build of the same addon CMakeLists.txt builds (`npx node-gyp rebuild`).
# libtorch: Debian's by default, or BERT_SERVE_LIBTORCH=/path/to/libtorch (scripts/torch-paths.cjs).
{
  "targets": [
    {
      "target_name": "bert_serve",
      "sources": [
        "<!@(ls -1 native/addon/*.cc native/engine/*.cc native/engine/text/*.cc native/engine/sched/*.cc native/engine/model/*.cc native/engine/kernels/*.cc)"
      ],
      "include_dirs": [
        "native",
        "<!@(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/torch-paths.cjs includes)",
        "/usr/include/utf8proc"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/torch-paths.cjs abi)",
        "BERT_SERVE_CUDA=<!(node scripts/torch-paths.cjs cuda)"
      ],
      # Node 20's common.gypi turns RTTI and exceptions off; libtorch and node-addon-api need both
      # (without -fexceptions node-addon-api stops at an #error).
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      # -fopenmp: libtorch's at::parallel_for (an inline template) runs serially in files compiled
      # without it; kernels/packed_linear_op.cc stops at an #error then (CMakeLists.txt says more).
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-fvisibility=hidden", "-fopenmp"],
      "libraries": [
        "-L<!(node scripts/torch-paths.cjs libdir)",
        "-Wl,--no-as-needed",
        "<!@(node scripts/torch-paths.cjs libs)",
        "-Wl,--as-needed",
        "-lutf8proc",
        "-lonig",
        "-ldl",
        "-fopenmp",
        "-Wl,-rpath,<!(node scripts/torch-paths.cjs libdir)"
      ]
    }
  ]
}
