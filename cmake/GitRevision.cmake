# Script mode: writes OUT from IN with TDX_GIT_REVISION, only when it changed.
execute_process(COMMAND git -C ${SRC_DIR} rev-parse --short=12 HEAD
  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
  set(rev "unknown")
else()
  execute_process(COMMAND git -C ${SRC_DIR} status --porcelain --untracked-files=no
    OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT dirty STREQUAL "")
    set(rev "${rev}-dirty")
  endif()
endif()
# The commit's date (YYYY-MM-DD, committer time in UTC): the manual pages' date.
set(ENV{TZ} UTC)
execute_process(COMMAND git -C ${SRC_DIR} log -1 --format=%cd --date=format-local:%Y-%m-%d
  OUTPUT_VARIABLE date OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0)
  set(date "")
endif()
set(TDX_GIT_REVISION ${rev})
set(TDX_GIT_DATE ${date})
set(TDX_VERSION ${VERSION})
configure_file(${IN} ${OUT}.tmp @ONLY)
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
