# With TDX_FUZZ=ON (clang) every target gets coverage instrumentation and ASan+UBSan, so the
# libraries under test are instrumented, not just the fuzz entry points.
if(TDX_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TDX_FUZZ=ON needs clang (configure with CXX=clang++ CC=clang)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# tdx_add_fuzzer(name SOURCES source... LIBS libs... CORPUS dir)
#
# Always builds <name>_replay: the fuzz entry point linked with a small driver that runs it on
# every file of the checked-in corpus; ctest runs it (under the sanitizers when TDX_SANITIZE is
# set). With TDX_FUZZ=ON (clang) it also builds <name> as a real libFuzzer binary.
function(tdx_add_fuzzer name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT BUILD_TESTING)
    return()
  endif()
  add_executable(${name}_replay ${F_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/fuzz_replay_main.cc)
  target_link_libraries(${name}_replay PRIVATE ${F_LIBS})
  tdx_set_warnings(${name}_replay)
  add_test(NAME fuzz_replay.${name} COMMAND ${name}_replay ${F_CORPUS})
  if(TDX_FUZZ)
    add_executable(${name} ${F_SOURCES})
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  endif()
endfunction()
