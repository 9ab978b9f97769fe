"$MRTD_CALC" --help
