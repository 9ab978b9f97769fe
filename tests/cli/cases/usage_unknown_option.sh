"$MRTD_CALC" measure --ovmf x.fd --frobnicate
