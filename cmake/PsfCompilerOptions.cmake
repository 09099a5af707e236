# Shared compiler settings for every C target of the native shim.
# C11, warnings are errors, symbols hidden unless exported through PSF_API.
function(psf_apply_compiler_options target)
  set_target_properties(${target} PROPERTIES
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    C_EXTENSIONS ON          # futex, memfd and epoll need _GNU_SOURCE
    C_VISIBILITY_PRESET hidden
    POSITION_INDEPENDENT_CODE ON)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes)
  endif()
endfunction()

# The reference kernels are the yardstick the managed SIMD kernels are measured against, so
# they get the best code the compiler can make for this machine.
function(psf_apply_native_arch)
  if(NOT MSVC AND PSF_NATIVE_ARCH)
    set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS "-O3;-march=native")
  endif()
endfunction()
