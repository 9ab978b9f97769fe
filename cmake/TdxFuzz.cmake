# tdx_add_fuzzer(name source... LIBS libs... CORPUS dir)
#
# Always builds <name>_replay: the fuzz entry point linked with a small driver that runs it on
# every file of the checked-in corpus; ctest runs it (under the sanitizers when TDX_SANITIZE is
# set). With TDX_FUZZ=ON (clang) it also builds <name> as a real libFuzzer binary.
function(tdx_add_fuzzer name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  add_executable(${name}_replay ${F_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/fuzz_replay_main.cc)
  target_link_libraries(${name}_replay PRIVATE ${F_LIBS})
  tdx_set_warnings(${name}_replay)
  add_test(NAME fuzz_replay.${name} COMMAND ${name}_replay ${F_CORPUS})
  if(TDX_FUZZ)
    add_executable(${name} ${F_SOURCES})
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  endif()
endfunction()
