# Manual pages and bash completions of the shipped programs, generated from each program's own
# CLI definition (`PROGRAM --man-page`, `PROGRAM --bash-completion`: runtime/cli/cli_docs.h)
# after it links, into ${CMAKE_BINARY_DIR}/docs/{man/man1,completions}/, and their install
# rules. Components, named as the Debian packages they become: tdx-image-tools (tdximage,
# mrtd-calc, tdx-attest) and zipnet (the node programs); scripts/package stages each with
# `cmake --install --component` and packages it.
# Not in node-only builds (the images' compile needs the programs alone).
set(TDX_DOCS_DIR ${CMAKE_BINARY_DIR}/docs)
include(GNUInstallDirs)

function(tdx_program_docs target component)
  if(TDX_NODE_ONLY)
    return()
  endif()
  set(man ${TDX_DOCS_DIR}/man/man1/${target}.1)
  set(completion ${TDX_DOCS_DIR}/completions/${target})
  add_custom_command(
    OUTPUT ${man} ${completion}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TDX_DOCS_DIR}/man/man1 ${TDX_DOCS_DIR}/completions
    COMMAND sh -c "\"$1\" --man-page >\"$2.tmp\" && mv \"$2.tmp\" \"$2\" && \"$1\" --bash-completion >\"$3.tmp\" && mv \"$3.tmp\" \"$3\""
            sh $<TARGET_FILE:${target}> ${man} ${completion}
    DEPENDS ${target}
    COMMENT "Manual page and bash completion of ${target}"
    VERBATIM)
  add_custom_target(${target}_docs ALL DEPENDS ${man} ${completion})
  install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${component})
  install(FILES ${man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${component})
  install(FILES ${completion} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          COMPONENT ${component})
endfunction()
