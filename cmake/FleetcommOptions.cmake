# Compiler flags live on an INTERFACE target that every fleetcomm target links,
# never in CMAKE_CXX_FLAGS, so that third-party code is unaffected.
add_library(fleetcomm_options INTERFACE)
target_compile_options(fleetcomm_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  # GCC 12 pairs an inlined coroutine frame's class-specific operator delete (Asio's
  # awaitable_frame_base) with the global operator new and warns; the pair is correct.
  -Wno-mismatched-new-delete)
if(FLEETCOMM_WERROR)
  target_compile_options(fleetcomm_options INTERFACE -Werror)
endif()
if(FLEETCOMM_SANITIZE)
  # No -O flag here: the sanitizer build is the Debug build at -O0, which compiles the
  # coroutine-heavy Asio/Beast code 2.4 times faster than -O1 (CI's budget is build time).
  target_compile_options(fleetcomm_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
    # GCC 12 reports false positives in std::function/std::regex under the sanitizers;
    # the normal build keeps this warning as an error.
    -Wno-maybe-uninitialized)
  target_link_options(fleetcomm_options INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(fleetcomm_options INTERFACE ${PROJECT_SOURCE_DIR})

# Asio and Beast are header-only by default; compiling them once into this library
# (their separate-compilation mode) keeps every other translation unit light.
function(fleetcomm_library name)
  add_library(${name} STATIC ${ARGN})
  target_link_libraries(${name} PUBLIC fleetcomm_options)
endfunction()
