"$MRTD_CALC" --version
"$TDXIMAGE" --version
