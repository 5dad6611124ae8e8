# LibTorch from the official PyTorch wheel that scripts/setup.sh installs into .venv/ (pinned in
# scripts/requirements.txt). -DTorch_DIR=<wheel>/torch/share/cmake/Torch picks another one.
#
# The wheel's own TorchConfig.cmake is not used: for a CUDA build it insists on a whole CUDA toolkit
# (nvcc, unversioned libraries), while the wheel's nvidia-* packages hold only what running needs. The
# target mopt_torch names exactly what mopt links: libtorch_cpu and c10.
if(NOT Torch_DIR)
  file(GLOB MOPT_VENV_TORCH_DIR ${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch/share/cmake/Torch)
  if(NOT MOPT_VENV_TORCH_DIR)
    message(FATAL_ERROR "LibTorch not found in .venv/: run scripts/setup.sh (or pass -DTorch_DIR=...)")
  endif()
  list(GET MOPT_VENV_TORCH_DIR 0 Torch_DIR)
endif()
get_filename_component(TORCH_INSTALL_PREFIX "${Torch_DIR}/../../.." ABSOLUTE)
file(STRINGS "${Torch_DIR}/TorchConfigVersion.cmake" MOPT_TORCH_VERSION_LINE REGEX "set\\(PACKAGE_VERSION ")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" Torch_VERSION "${MOPT_TORCH_VERSION_LINE}")
if(NOT Torch_VERSION OR Torch_VERSION VERSION_LESS 2.0)
  message(FATAL_ERROR "mopt needs LibTorch 2.x (found '${Torch_VERSION}' in ${Torch_DIR}): run scripts/setup.sh")
endif()

# The wheel's include/ also holds the protobuf 3.13 and fmt 12 headers LibTorch was built with (both are
# linked privately into libtorch_cpu). mopt links Debian's protobuf (through libonnx) and fmt, so their
# headers must win: LibTorch's include/ is re-exposed as links to every entry but google/ and fmt/.
set(MOPT_TORCH_INCLUDE ${CMAKE_BINARY_DIR}/torch-include)
file(MAKE_DIRECTORY ${MOPT_TORCH_INCLUDE})
file(GLOB MOPT_TORCH_INCLUDE_ENTRIES RELATIVE ${TORCH_INSTALL_PREFIX}/include ${TORCH_INSTALL_PREFIX}/include/*)
foreach(entry ${MOPT_TORCH_INCLUDE_ENTRIES})
  if(NOT entry MATCHES "^(google|fmt)$")
    file(CREATE_LINK ${TORCH_INSTALL_PREFIX}/include/${entry} ${MOPT_TORCH_INCLUDE}/${entry} SYMBOLIC)
  endif()
endforeach()

set(MOPT_TORCH_LIB ${TORCH_INSTALL_PREFIX}/lib)
add_library(mopt_torch INTERFACE)
# SYSTEM, as imported targets are: LibTorch's headers do not pass -Wextra.
target_include_directories(mopt_torch SYSTEM INTERFACE ${MOPT_TORCH_INCLUDE}
                           ${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include)
# The definitions libtorch_cpu was built with (its Caffe2Targets.cmake): c10d's headers depend on them.
target_compile_definitions(mopt_torch INTERFACE USE_DISTRIBUTED USE_C10D_GLOO USE_RPC USE_TENSORPIPE)
# --no-as-needed: libtorch_cpu registers its operators from static initializers; nothing names it.
target_link_libraries(mopt_torch INTERFACE "-Wl,--no-as-needed,${MOPT_TORCH_LIB}/libtorch_cpu.so -Wl,--as-needed"
                      ${MOPT_TORCH_LIB}/libtorch.so ${MOPT_TORCH_LIB}/libc10.so)
set(TORCH_LIBRARIES mopt_torch)

# A CUDA build also holds libtorch_cuda.so: mopt loads it at run time when a GPU is asked for
# (lib/runtime/cuda.cpp), so its processes do not map the CUDA libraries otherwise (measured: +0.25 s and
# +400 MB per start). mopt's GPU code uses LibTorch's device-generic API, without CUDA headers, except
# lib/runtime/cuda_plugin/: the CUDA graph bridge, built against the CUDA runtime's
# headers and library from the wheel's nvidia-cuda-runtime package. That package lacks nvcc's crt/
# headers, which cuda_runtime.h includes; Triton (pinned with torch) ships CUDA 13's whole header set,
# searched after the runtime's own for what it lacks.
if(EXISTS ${MOPT_TORCH_LIB}/libtorch_cuda.so)
  set(MOPT_TORCH_CUDA "a CUDA build (libtorch_cuda.so loaded on demand)")
  file(GLOB MOPT_CUDA_RUNTIME_INCLUDE ${TORCH_INSTALL_PREFIX}/../nvidia/cu[0-9]*/include)
  file(GLOB MOPT_CUDA_RUNTIME_LIBRARY ${TORCH_INSTALL_PREFIX}/../nvidia/cu[0-9]*/lib/libcudart.so.*)
  set(MOPT_CUDA_CRT_INCLUDE ${TORCH_INSTALL_PREFIX}/../triton/backends/nvidia/include)
  if(NOT MOPT_CUDA_RUNTIME_INCLUDE OR NOT MOPT_CUDA_RUNTIME_LIBRARY OR NOT EXISTS ${MOPT_CUDA_CRT_INCLUDE}/crt/host_config.h)
    message(FATAL_ERROR "LibTorch is a CUDA build but the CUDA runtime's headers or library (nvidia-cuda-runtime, "
                        "triton) are missing: run scripts/setup.sh")
  endif()
  list(APPEND MOPT_CUDA_RUNTIME_INCLUDE ${MOPT_CUDA_CRT_INCLUDE})
else()
  set(MOPT_TORCH_CUDA "CPU only")
endif()
message(STATUS "LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX}): ${MOPT_TORCH_CUDA}")
