# TDX_SANITIZE=address,undefined applies to every target of the build (global on purpose:
# a sanitizer must cover libraries and tests alike).
if(TDX_SANITIZE)
  add_compile_options(-fsanitize=${TDX_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TDX_SANITIZE})
endif()
