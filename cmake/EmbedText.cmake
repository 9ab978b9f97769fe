# Script mode: writes OUT, a header defining kLauncherTemplate as the text of IN (raw string).
file(READ ${IN} text)
string(FIND "${text}" ")TDXEMBED\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT}.tmp "// Generated from ${IN}. Do not edit.\n#pragma once\ninline constexpr const char* kLauncherTemplate = R\"TDXEMBED(${text})TDXEMBED\";\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
