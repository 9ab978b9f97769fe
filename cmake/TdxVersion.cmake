# Generates tdx_version.h with the project version and the git revision at configure time
# (refreshed on every build through a custom target, so --version never lies after a commit).
set(TDX_VERSION_IN ${CMAKE_CURRENT_LIST_DIR}/version.h.in)
set(TDX_VERSION_OUT_DIR ${CMAKE_BINARY_DIR}/generated)
add_custom_target(tdx_version_header
  COMMAND ${CMAKE_COMMAND}
    -DSRC_DIR=${CMAKE_SOURCE_DIR} -DIN=${TDX_VERSION_IN}
    -DOUT=${TDX_VERSION_OUT_DIR}/tdx_version.h
    -DVERSION=${PROJECT_VERSION}
    -P ${CMAKE_CURRENT_LIST_DIR}/GitRevision.cmake
  BYPRODUCTS ${TDX_VERSION_OUT_DIR}/tdx_version.h
  COMMENT "Stamping git revision")
add_library(tdx_version INTERFACE)
target_include_directories(tdx_version INTERFACE ${TDX_VERSION_OUT_DIR})
add_dependencies(tdx_version tdx_version_header)
