/* A legacy nanoBragg-style main() on the nanobragg C API: it hands its argument vector to the
 * library, renders, writes the output files the options ask for and prints what nanoBragg
 * prints (setup transcript, then the statistics and file lines). Warnings go to stderr.
 *
 * Build against the static or the shared library, e.g.
 *   cc -std=c99 -I include c_ref/nb_driver.c target/release/libnanobragg.a -lpthread -ldl -lm
 *   cc -std=c99 -I include c_ref/nb_driver.c -L target/release -lnanobragg
 * Exit status: 0, or 9 on any error (as the nanoBragg CLI). */
#include <stdio.h>
#include <stdlib.h>

#include "nanobragg.h"

static void print_line(const char *line, void *user) {
    (void)user;
    puts(line);
}

static void print_warning(const char *line, void *user) {
    (void)user;
    fprintf(stderr, "nanoBragg: warning: %s\n", line);
}

static int fail(const char *what) {
    fprintf(stderr, "nanoBragg: error: %s: %s\n", what, nb_last_error());
    return 9;
}

int main(int argc, char **argv) {
    nb_sim *sim = NULL;
    float *image = NULL;
    size_t fpixels = 0, spixels = 0;
    int rc = 0;

    if (nb_abi_version() != NANOBRAGG_ABI_VERSION) {
        fprintf(stderr, "nanoBragg: error: library ABI %u, header ABI %u\n",
                (unsigned)nb_abi_version(), (unsigned)NANOBRAGG_ABI_VERSION);
        return 9;
    }
    if (nb_sim_create(argc, (const char *const *)argv, &sim) != NB_OK) {
        return fail("setup");
    }
    if (nb_sim_warnings(sim, print_warning, NULL) != NB_OK ||
        nb_sim_transcript(sim, print_line, NULL) != NB_OK ||
        nb_sim_image_size(sim, &fpixels, &spixels) != NB_OK) {
        rc = fail("setup");
        goto done;
    }
    fflush(stdout);
    image = malloc(fpixels * spixels * sizeof *image);
    if (image == NULL) {
        fprintf(stderr, "nanoBragg: error: out of memory for a %zux%zu image\n", fpixels, spixels);
        rc = 9;
        goto done;
    }
    if (nb_sim_render(sim, NB_PRECISION_DEFAULT, image, fpixels * spixels) != NB_OK) {
        rc = fail("render");
        goto done;
    }
    if (nb_sim_write_outputs(sim, print_line, NULL) != NB_OK) {
        rc = fail("output");
        goto done;
    }
done:
    fflush(stdout);
    free(image);
    nb_sim_free(sim);
    return rc;
}
