/* A caller built against the ABI-1 header (tests/data/abi1/nanobragg.h) and linked with the
 * current library: its nb_kernel_params is the smaller ABI-1 struct. It creates a simulation
 * from its arguments, takes the kernel parameters with the ABI-1 call nb_sim_kernel_params()
 * (which must write nothing past that struct: a guard zone behind it is checked), renders them
 * with nb_render_kernel() in double precision and writes the float image.
 *
 * usage: nb_abi1_caller OUT.bin <nanoBragg arguments>
 * Prints the struct size it was built with and "ok", or an error; exit status 0 or 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nanobragg.h"

#define GUARD 512

int main(int argc, char **argv)
{
    struct {
        nb_kernel_params p;
        unsigned char guard[GUARD];
    } s;
    nb_sim *sim = NULL;
    float *image = NULL;
    size_t n, i;
    FILE *f;

    if (argc < 2) {
        fprintf(stderr, "usage: nb_abi1_caller OUT.bin <nanoBragg arguments>\n");
        return 1;
    }
    memset(s.guard, 0xA5, sizeof s.guard);
    if (nb_sim_create(argc - 1, (const char *const *)(argv + 1), &sim) != NB_OK ||
        nb_sim_kernel_params(sim, &s.p) != NB_OK) {
        fprintf(stderr, "setup: %s\n", nb_last_error());
        return 1;
    }
    for (i = 0; i < sizeof s.guard; i++) {
        if (s.guard[i] != 0xA5) {
            fprintf(stderr, "nb_sim_kernel_params wrote past the ABI-1 struct (byte %lu)\n",
                    (unsigned long)i);
            return 1;
        }
    }
    if (s.p.struct_size != sizeof s.p) {
        fprintf(stderr, "struct_size %u, ABI-1 struct %lu bytes\n", (unsigned)s.p.struct_size,
                (unsigned long)sizeof s.p);
        return 1;
    }
    n = (size_t)s.p.fpixels * (size_t)s.p.spixels;
    image = (float *)calloc(n, sizeof(float));
    /* what follows the struct must not be read as ABI-2 fields: make it garbage */
    memset(s.guard, 0xA5, sizeof s.guard);
    if (image == NULL || nb_render_kernel(&s.p, NB_PRECISION_DOUBLE, image, n) != NB_OK) {
        fprintf(stderr, "render: %s\n", nb_last_error());
        return 1;
    }
    f = fopen(argv[1], "wb");
    if (f == NULL || fwrite(image, sizeof(float), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[1]);
        return 1;
    }
    printf("%lu ok\n", (unsigned long)sizeof s.p);
    free(image);
    nb_sim_free(sim);
    return 0;
}
