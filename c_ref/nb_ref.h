/* Compact C99 reference of the nanoBragg pixel loop (serial, one thread, double precision).
 *
 * nb_ref_render() renders the same image as nb_render_kernel(params, NB_PRECISION_DOUBLE, ...):
 * rendered pixels (inside the inclusive ROI and not masked) are assigned, all others are left
 * untouched. It reads the contiguous `fhkl` only (not `fhkl_rows`) and none of the ABI-2
 * callbacks or statistics. Returns 0 on success, -1 for a NULL pointer, -2 for a length mismatch
 * (image_len, mask_len, fhkl_len) and -3 for invalid parameters. */
#ifndef NB_REF_H
#define NB_REF_H

#include "nanobragg.h"

int nb_ref_render(const nb_kernel_params *p, float *image, size_t image_len);

#endif /* NB_REF_H */
