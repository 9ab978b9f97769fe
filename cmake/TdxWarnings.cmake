# tdx_set_warnings(target): the project's warning set, errors when TDX_WERROR is on.
function(tdx_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(TDX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
