#include "psf.h"

uint32_t psf_version(void)
{
    return ((uint32_t)PSF_VERSION_MAJOR << 16) | ((uint32_t)PSF_VERSION_MINOR << 8) |
           (uint32_t)PSF_VERSION_PATCH;
}
