# Looks for the ibverbs headers and library. Sets PSF_VERBS_FOUND, PSF_VERBS_INCLUDE_DIR and
# PSF_VERBS_LIBRARY. Debian ships them in libibverbs-dev.
find_path(PSF_VERBS_INCLUDE_DIR infiniband/verbs.h)
find_library(PSF_VERBS_LIBRARY NAMES ibverbs)
if(PSF_VERBS_INCLUDE_DIR AND PSF_VERBS_LIBRARY)
  set(PSF_VERBS_FOUND TRUE)
else()
  set(PSF_VERBS_FOUND FALSE)
endif()
