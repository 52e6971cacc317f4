# Two builds of the same sources: a baseline one that loads on every CPU, and on x64 one
# compiled for AVX2+FMA (Eigen's GEMM is ~3× faster with it), picked at runtime when the CPU
# has it. Eigen is header-only: Debian's libeigen3-dev, Homebrew's eigen or EIGEN_INCLUDE_DIR.
{
  "variables": {
    "eigen_include%": "<!(node -p \"process.env.EIGEN_INCLUDE_DIR || "
                      "['/usr/include/eigen3', '/usr/local/include/eigen3', '/opt/homebrew/include/eigen3']"
                      ".find((d) => require('fs').existsSync(d)) || ''\")"
  },
  "target_defaults": {
    "sources": ["src/addon.cc", "src/pool.cc", "src/gemm.cc", "src/elementwise.cc", "src/copy.cc", "src/fused.cc"],
    "include_dirs": ["<(eigen_include)"],
    "defines": ["NDEBUG", "EIGEN_NO_DEBUG", "EIGEN_DONT_PARALLELIZE", "NAPI_VERSION=8"],
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "GCC_OPTIMIZATION_LEVEL": "3"
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] } }
  },
  "targets": [
    { "target_name": "mae_studio_native" },
    {
      "target_name": "mae_studio_native_avx2",
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] },
          "msvs_settings": { "VCCLCompilerTool": { "EnableEnhancedInstructionSet": "5" } }
        }]
      ]
    }
  ]
}
