/* A legacy nanoBragg-style main() (C89) whose pixel loop is the library's nb_render_kernel().
 *
 * Set-up: nb_sim_create() stands in for nanoBragg's own (parsing, geometry, crystal, input
 * files) and nb_sim_kernel_params_ex() hands over the variables nanoBragg holds when it enters
 * its loop. The structure factors are then held the nanoBragg way, as separately allocated
 * rows Fhkl[h][k][l], and the float image is calloc'd.
 *
 * The loop: the lines between the "nanobragg kernel" markers are all the integration a
 * nanoBragg-style program needs (tests/c_driver.rs counts them): the F rows as they are, a
 * print callback through which the library prints what the loop printed (progress lines, the
 * -printout dump, the interpolation warning) where the loop printed it, and the loop's
 * statistics (max_I and its position, sum, sumsqr, sumn, omega_sum).
 *
 * After the loop, nb_sim_write_image_outputs() stands in for nanoBragg's output code: from
 * this program's image and loop statistics it prints the solid-angle and statistics lines and
 * writes the float, SMV, PGM and noise files the options ask for.
 *
 * Build against the static or the shared library, e.g.
 *   cc -std=c89 -pedantic -I include c_ref/nb_legacy.c target/release/libnanobragg.a \
 *      -lgcc_s -lutil -lrt -lpthread -lm -ldl
 *   cc -std=c89 -pedantic -I include c_ref/nb_legacy.c -L target/release -lnanobragg
 * It renders in double precision, reproducing nanoBragg.c bit for bit. Exit status: 0, or 9
 * on any error (as nanoBragg). */
#include <stdio.h>
#include <stdlib.h>

#include "nanobragg.h"

static void print_line(const char *line, void *user)
{
    (void)user;
    puts(line);
}

static void print_warning(const char *line, void *user)
{
    (void)user;
    fprintf(stderr, "nanoBragg: warning: %s\n", line);
}

static int fail(const char *what)
{
    fprintf(stderr, "nanoBragg: error: %s: %s\n", what, nb_last_error());
    return 9;
}

/* ---- nanobragg kernel: the loop's printf ---- */
static void print_text(const char *text, void *user)
{
    (void)user;
    fputs(text, stdout);
}
/* ---- end nanobragg kernel ---- */

/* The structure factors as nanoBragg allocates them: (h_range+1) planes of (k_range+1)
 * separately allocated rows of (l_range+1) doubles, filled here from the contiguous grid of
 * the set-up (nanoBragg fills them from its HKL or dump file). NULL if none or out of memory. */
static double ***alloc_Fhkl(const nb_kernel_params *p)
{
    int h_range = p->h_max - p->h_min + 1;
    int k_range = p->k_max - p->k_min + 1;
    int l_range = p->l_max - p->l_min + 1;
    const double *src = p->fhkl;
    double ***Fhkl;
    int h0, k0, l0;

    Fhkl = (double ***)calloc(h_range + 1, sizeof(double **));
    if (Fhkl == NULL) return NULL;
    for (h0 = 0; h0 <= h_range; h0++) {
        Fhkl[h0] = (double **)calloc(k_range + 1, sizeof(double *));
        if (Fhkl[h0] == NULL) return NULL;
        for (k0 = 0; k0 <= k_range; k0++) {
            Fhkl[h0][k0] = (double *)calloc(l_range + 1, sizeof(double));
            if (Fhkl[h0][k0] == NULL) return NULL;
            for (l0 = 0; l0 <= l_range; l0++) Fhkl[h0][k0][l0] = *src++;
        }
    }
    return Fhkl;
}

static void free_Fhkl(double ***Fhkl, const nb_kernel_params *p)
{
    int h0, k0;
    if (Fhkl == NULL) return;
    for (h0 = 0; h0 <= p->h_max - p->h_min + 1; h0++) {
        if (Fhkl[h0] == NULL) continue;
        for (k0 = 0; k0 <= p->k_max - p->k_min + 1; k0++) free(Fhkl[h0][k0]);
        free(Fhkl[h0]);
    }
    free(Fhkl);
}

int main(int argc, char **argv)
{
    nb_sim *sim = NULL;
    nb_kernel_params p;
    nb_render_stats st;
    double ***Fhkl = NULL;
    float *floatimage = NULL;
    size_t pixels;
    int rc = 0;

    /* ---- set-up (stands in for nanoBragg's) ---- */
    if (nb_abi_version() != NANOBRAGG_ABI_VERSION) {
        fprintf(stderr, "nanoBragg: error: library ABI %u, header ABI %u\n",
                (unsigned)nb_abi_version(), (unsigned)NANOBRAGG_ABI_VERSION);
        return 9;
    }
    if (nb_sim_create(argc, (const char *const *)argv, &sim) != NB_OK) return fail("setup");
    if (nb_sim_warnings(sim, print_warning, NULL) != NB_OK ||
        nb_sim_transcript(sim, print_line, NULL) != NB_OK ||
        nb_sim_kernel_params_ex(sim, &p, sizeof p) != NB_OK) {
        rc = fail("setup");
        goto done;
    }
    fflush(stdout);
    if (p.hkls > 0 && (Fhkl = alloc_Fhkl(&p)) == NULL) {
        fprintf(stderr, "nanoBragg: error: out of memory for the structure factors\n");
        rc = 9;
        goto done;
    }
    pixels = (size_t)p.fpixels * (size_t)p.spixels;
    floatimage = (float *)calloc(pixels, sizeof(float));
    if (floatimage == NULL) {
        fprintf(stderr, "nanoBragg: error: out of memory for the image\n");
        rc = 9;
        goto done;
    }

    /* ---- nanobragg kernel: the pixel loop ---- */
    p.fhkl = NULL;
    p.fhkl_rows = (const double *const *const *)Fhkl;
    p.print = print_text;
    st.struct_size = sizeof st;
    p.stats = &st;
    if (nb_render_kernel(&p, NB_PRECISION_DOUBLE, floatimage, pixels) != NB_OK) {
        rc = fail("render");
        goto done;
    }
    /* ---- end nanobragg kernel ---- */

    /* ---- after the loop (stands in for nanoBragg's output code) ---- */
    if (nb_sim_write_image_outputs(sim, floatimage, pixels, &st, print_line, NULL) != NB_OK) {
        rc = fail("output");
        goto done;
    }
done:
    fflush(stdout);
    free(floatimage);
    free_Fhkl(Fhkl, &p);
    nb_sim_free(sim);
    return rc;
}
