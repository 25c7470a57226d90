/* Compact C99 reference of the nanoBragg pixel loop: scalar doubles, left-to-right evaluation,
 * libm functions. Must be compiled without FMA contraction or fast-math. */
#include "nb_ref.h"

#include <limits.h>
#include <math.h>

#define NB_PI 3.14159265358979323846

static double dot3(const double *x, const double *y)
{
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
}

static void cross3(const double *x, const double *y, double *out)
{
    out[0] = x[1] * y[2] - x[2] * y[1];
    out[1] = x[2] * y[0] - x[0] * y[2];
    out[2] = x[0] * y[1] - x[1] * y[0];
}

/* Make v unit in place by component-wise division; a zero vector stays zero. Returns |v|. */
static double unitize3(double *v)
{
    double mag = sqrt(dot3(v, v));
    if (mag != 0.0) {
        v[0] /= mag;
        v[1] /= mag;
        v[2] /= mag;
    } else {
        v[0] = v[1] = v[2] = 0.0;
    }
    return mag;
}

/* Right-handed rotation of v by phi about the unit vector u (Rodrigues), always evaluated. */
static void rotate_axis3(const double *v, const double *u, double phi, double *out)
{
    double s = sin(phi), c = cos(phi);
    double d = dot3(u, v) * (1.0 - c);
    double r0 = (u[0] * d + v[0] * c) + (-u[2] * v[1] + u[1] * v[2]) * s;
    double r1 = (u[1] * d + v[1] * c) + (u[2] * v[0] - u[0] * v[2]) * s;
    double r2 = (u[2] * d + v[2] * c) + (-u[1] * v[0] + u[0] * v[1]) * s;
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
}

/* out = U v, U row-major. */
static void rotate_umat3(const double *v, const double *u, double *out)
{
    out[0] = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    out[1] = u[3] * v[0] + u[4] * v[1] + u[5] * v[2];
    out[2] = u[6] * v[0] + u[7] * v[1] + u[8] * v[2];
}

/* double -> int as x86 cvttsd2si does it (NaN and out-of-range give INT_MIN), without UB. */
static int to_int(double x)
{
    if (x != x || x >= 2147483648.0 || x <= -2147483649.0)
        return INT_MIN;
    return (int)x;
}

static double sincg(double x, double n)
{
    return x == 0.0 ? n : sin(x * n) / sin(x);
}

static double sinc3(double x)
{
    return x == 0.0 ? 1.0 : 3.0 * (sin(x) / x - cos(x)) / (x * x);
}

/* Kahn polarization factor; incident, diffracted and the E-vector axis are made unit in place. */
static double polarization_factor(double kahn, double *incident, double *diffracted, double *axis)
{
    double c2, c2s, s2s, psi = 0.0;
    unitize3(incident);
    unitize3(diffracted);
    unitize3(axis);
    c2 = dot3(incident, diffracted);
    c2s = c2 * c2;
    s2s = 1.0 - c2s;
    if (kahn != 0.0) {
        double b_in[3], e_in[3];
        cross3(axis, incident, b_in);
        unitize3(b_in);
        cross3(incident, b_in, e_in);
        unitize3(e_in);
        psi = -atan2(dot3(diffracted, b_in), dot3(diffracted, e_in));
    }
    return 0.5 * (1.0 + c2s - kahn * cos(2.0 * psi) * s2s);
}

/* 4-point Lagrange interpolation through nodes xa with values ya. */
static double polint(const double *xa, const double *ya, double x)
{
    double x0 = (x - xa[1]) * (x - xa[2]) * (x - xa[3]) * ya[0]
                / ((xa[0] - xa[1]) * (xa[0] - xa[2]) * (xa[0] - xa[3]));
    double x1 = (x - xa[0]) * (x - xa[2]) * (x - xa[3]) * ya[1]
                / ((xa[1] - xa[0]) * (xa[1] - xa[2]) * (xa[1] - xa[3]));
    double x2 = (x - xa[0]) * (x - xa[1]) * (x - xa[3]) * ya[2]
                / ((xa[2] - xa[0]) * (xa[2] - xa[1]) * (xa[2] - xa[3]));
    double x3 = (x - xa[0]) * (x - xa[1]) * (x - xa[2]) * ya[3]
                / ((xa[3] - xa[0]) * (xa[3] - xa[1]) * (xa[3] - xa[2]));
    return x0 + x1 + x2 + x3;
}

/* The structure-factor grid: (range+1)^3 padded array, h outer, l inner. */
typedef struct {
    const double *f;
    int min[3], max[3];
    size_t stride_k, stride_h; /* (l_range+1), (k_range+1)*(l_range+1) */
} grid;

static double grid_at(const grid *g, int dh, int dk, int dl)
{
    return g->f[(size_t)dh * g->stride_h + (size_t)dk * g->stride_k + (size_t)dl];
}

/* Tricubic interpolation at fractional (h,k,l): along l, then k, then h. */
static double tricubic(const grid *g, double h, double k, double l)
{
    int hf = to_int(floor(h)), kf = to_int(floor(k)), lf = to_int(floor(l));
    double hn[4], kn[4], ln[4], ym[4], yk[4], yl[4];
    int i, j, m;
    for (i = 0; i < 4; i++) {
        hn[i] = (double)(hf - 1 + i);
        kn[i] = (double)(kf - 1 + i);
        ln[i] = (double)(lf - 1 + i);
    }
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 4; j++) {
            for (m = 0; m < 4; m++)
                yl[m] = grid_at(g, hf - 1 + i - g->min[0], kf - 1 + j - g->min[1],
                                lf - 1 + m - g->min[2]);
            yk[j] = polint(ln, yl, l);
        }
        ym[i] = polint(kn, yk, k);
    }
    return polint(hn, ym, h);
}

/* The interpolation stencil leaves the grid (test on the fractional indices). */
static int out_of_range(const grid *g, const double *hkl)
{
    int a;
    for (a = 0; a < 3; a++) {
        double range = (double)(g->max[a] - g->min[a] + 1);
        if ((hkl[a] - (double)g->min[a] + 3.0) > range || (hkl[a] - 2.0) < (double)g->min[a])
            return 1;
    }
    return 0;
}

int nb_ref_render(const nb_kernel_params *p, float *image, size_t image_len)
{
    grid g;
    int have_grid = 0, interp_on, fix, os_polar, k, s, f;
    size_t npix, nsrc;
    double polar_axis[3], ap[3], bp[3], cp[3], subpixel;

    /* ---- argument checks (same order as nb_render_kernel) ---- */
    if (p == NULL || image == NULL)
        return -1;
    if (p->struct_size != sizeof(nb_kernel_params))
        return -3;
    if (p->fpixels <= 0 || p->spixels <= 0 || p->sources <= 0 || p->mosaic_domains <= 0
        || p->oversample <= 0 || p->detector_thicksteps <= 0 || p->phisteps <= 0 || p->steps <= 0)
        return -3;
    npix = (size_t)p->fpixels * (size_t)p->spixels;
    if (p->mask != NULL && p->mask_len != npix)
        return -2;
    if (p->source_x == NULL || p->source_y == NULL || p->source_z == NULL
        || p->source_lambda == NULL || p->mosaic_umats == NULL)
        return -1;
    if (p->xtal_shape < NB_SHAPE_SQUARE || p->xtal_shape > NB_SHAPE_TOPHAT)
        return -3;
    if (p->hkls > 0) {
        int mn[3] = {p->h_min, p->k_min, p->l_min}, mx[3] = {p->h_max, p->k_max, p->l_max};
        double n = 1.0;
        for (k = 0; k < 3; k++) {
            if (mx[k] < mn[k])
                return -3;
            n *= (double)mx[k] - (double)mn[k] + 2.0;
            g.min[k] = mn[k];
            g.max[k] = mx[k];
        }
        if (n > 2147483648.0)
            return -3;
        if (p->fhkl_len != (size_t)n)
            return -2;
        if (p->fhkl == NULL)
            return -1;
        g.f = p->fhkl;
        g.stride_k = (size_t)(g.max[2] - g.min[2] + 2);
        g.stride_h = (size_t)(g.max[1] - g.min[1] + 2) * g.stride_k;
        have_grid = 1;
    }
    if (!(p->pixel_size > 0.0) || !isfinite(p->pixel_size))
        return -3;
    nsrc = (size_t)p->sources;
    for (k = 0; k < (int)nsrc; k++)
        if (!isfinite(p->source_x[k]) || !isfinite(p->source_y[k]) || !isfinite(p->source_z[k]))
            return -3;
    if (image_len != npix)
        return -2;

    /* ---- run-wide state (carried across pixels in serial order) ---- */
    fix = p->fix_quirks != 0;
    interp_on = p->interpolate != 0 && have_grid;
    os_polar = p->oversample_polar && !(fix && p->nopolar);
    for (k = 0; k < 3; k++) {
        polar_axis[k] = p->polar_vector[k]; /* re-normalised in place at every evaluation */
        ap[k] = p->a0[k];
        bp[k] = p->b0[k];
        cp[k] = p->c0[k];
    }
    subpixel = p->pixel_size / (double)p->oversample;

    for (s = 0; s < p->spixels; s++) {
        for (f = 0; f < p->fpixels; f++) {
            double i_sum = p->i_bg, polar = p->nopolar ? 1.0 : 0.0, omega = 0.0, capture = 0.0;
            double test;
            int t, subs, subf;
            if (f < p->roi_xmin || f > p->roi_xmax || s < p->roi_ymin || s > p->roi_ymax)
                continue;
            if (p->mask != NULL && p->mask[(size_t)s * (size_t)p->fpixels + (size_t)f] == 0)
                continue;

            for (t = 0; t < p->detector_thicksteps; t++) {
                double odet_pos = (double)t * p->detector_thickstep;
                capture = p->detector_thick == 0.0 ? 1.0 : 0.0;
                for (subs = 0; subs < p->oversample; subs++) {
                    for (subf = 0; subf < p->oversample; subf++) {
                        double fdet_pos = subpixel * (double)((long)f * p->oversample + subf) + subpixel / 2.0;
                        double sdet_pos = subpixel * (double)((long)s * p->oversample + subs) + subpixel / 2.0;
                        double pos[3], d[3], airpath;
                        size_t src;
                        for (k = 0; k < 3; k++)
                            pos[k] = fdet_pos * p->fdet_vector[k] + sdet_pos * p->sdet_vector[k]
                                     + odet_pos * p->odet_vector[k] + p->pix0_vector[k];
                        if (p->curved_detector) {
                            double v[3], nv[3];
                            for (k = 0; k < 3; k++)
                                v[k] = p->distance * p->beam_vector[k];
                            rotate_axis3(v, p->sdet_vector, pos[1] / p->distance, nv);
                            rotate_axis3(nv, p->fdet_vector, pos[2] / p->distance, pos);
                        }
                        for (k = 0; k < 3; k++)
                            d[k] = pos[k];
                        airpath = unitize3(d);

                        if (omega == 0.0 || p->oversample_omega) {
                            omega = p->pixel_size * p->pixel_size / airpath / airpath
                                    * p->close_distance / airpath;
                            if (p->point_pixel)
                                omega = 1.0 / airpath / airpath;
                        }
                        if (capture == 0.0 || p->oversample_thick) {
                            double parallax = dot3(d, p->odet_vector);
                            long ti = t;
                            capture = exp((double)(-ti) * p->detector_thickstep * p->detector_mu / parallax)
                                      - exp((double)(-(ti + 1)) * p->detector_thickstep * p->detector_mu / parallax);
                        }

                        for (src = 0; src < nsrc; src++) {
                            double incident[3], q[3], stol, lambda = p->source_lambda[src];
                            int ph;
                            incident[0] = -p->source_x[src];
                            incident[1] = -p->source_y[src];
                            incident[2] = -p->source_z[src];
                            for (k = 0; k < 3; k++)
                                q[k] = (d[k] - incident[k]) / lambda;
                            stol = 0.5 * sqrt(dot3(q, q));
                            if (p->dmin > 0.0 && stol > 0.0 && p->dmin > 0.5 / stol)
                                continue;
                            if (polar == 0.0 || os_polar)
                                polar = polarization_factor(p->polarization, incident, d, polar_axis);

                            for (ph = 0; ph < p->phisteps; ph++) {
                                double phi = p->phi0 + p->phistep * (double)ph;
                                int m;
                                if (phi != 0.0) {
                                    rotate_axis3(p->a0, p->spindle_vector, phi, ap);
                                    rotate_axis3(p->b0, p->spindle_vector, phi, bp);
                                    rotate_axis3(p->c0, p->spindle_vector, phi, cp);
                                } else if (fix) {
                                    for (k = 0; k < 3; k++) {
                                        ap[k] = p->a0[k];
                                        bp[k] = p->b0[k];
                                        cp[k] = p->c0[k];
                                    }
                                }
                                for (m = 0; m < p->mosaic_domains; m++) {
                                    double a[3], b[3], c[3], hkl[3], f_latt = 1.0, f_cell = 0.0;
                                    double na = p->na, nb = p->nb, nc = p->nc;
                                    int h0[3], nearest;
                                    if (p->mosaic_spread > 0.0) {
                                        const double *u = p->mosaic_umats + 9 * (size_t)m;
                                        rotate_umat3(ap, u, a);
                                        rotate_umat3(bp, u, b);
                                        rotate_umat3(cp, u, c);
                                    } else {
                                        for (k = 0; k < 3; k++) {
                                            a[k] = ap[k];
                                            b[k] = bp[k];
                                            c[k] = cp[k];
                                        }
                                    }
                                    hkl[0] = dot3(a, q);
                                    hkl[1] = dot3(b, q);
                                    hkl[2] = dot3(c, q);
                                    for (k = 0; k < 3; k++)
                                        h0[k] = to_int(ceil(hkl[k] - 0.5));

                                    if (p->xtal_shape == NB_SHAPE_SQUARE) {
                                        if (na > 1.0)
                                            f_latt *= sincg(NB_PI * hkl[0], na);
                                        if (nb > 1.0)
                                            f_latt *= sincg(NB_PI * hkl[1], nb);
                                        if (nc > 1.0)
                                            f_latt *= sincg(NB_PI * hkl[2], nc);
                                    } else {
                                        double dh = hkl[0] - (double)h0[0];
                                        double dk = hkl[1] - (double)h0[1];
                                        double dl = hkl[2] - (double)h0[2];
                                        double dx = dh * p->a_star[0] + dk * p->b_star[0] + dl * p->c_star[0];
                                        double dy = dh * p->a_star[1] + dk * p->b_star[1] + dl * p->c_star[1];
                                        double dz = dh * p->a_star[2] + dk * p->b_star[2] + dl * p->c_star[2];
                                        double rs = (dx * dx + dy * dy + dz * dz) * na * na * nb * nb * nc * nc;
                                        if (p->xtal_shape == NB_SHAPE_ROUND) {
                                            double hr = dh * dh * na * na + dk * dk * nb * nb + dl * dl * nc * nc;
                                            f_latt = na * nb * nc * 0.723601254558268
                                                     * sinc3(NB_PI * sqrt(hr * p->fudge));
                                        } else if (p->xtal_shape == NB_SHAPE_GAUSS) {
                                            f_latt = na * nb * nc * exp(-(rs / 0.63 * p->fudge));
                                        } else {
                                            f_latt = na * nb * nc * (rs * p->fudge < 0.3969 ? 1.0 : 0.0);
                                        }
                                    }
                                    if (f_latt == 0.0 && p->water_size == 0.0)
                                        continue;

                                    nearest = !interp_on;
                                    if (interp_on) {
                                        if (out_of_range(&g, hkl)) {
                                            /* reference: interpolation stays off for the rest of the run */
                                            if (!fix)
                                                interp_on = 0;
                                            nearest = 1;
                                        } else {
                                            f_cell = tricubic(&g, hkl[0], hkl[1], hkl[2]);
                                        }
                                    }
                                    if (nearest) {
                                        f_cell = p->default_f;
                                        if (have_grid && h0[0] >= g.min[0] && h0[0] <= g.max[0]
                                            && h0[1] >= g.min[1] && h0[1] <= g.max[1]
                                            && h0[2] >= g.min[2] && h0[2] <= g.max[2])
                                            f_cell = grid_at(&g, h0[0] - g.min[0], h0[1] - g.min[1],
                                                             h0[2] - g.min[2]);
                                    }

                                    /* the oversample flags multiply the running sum, not the term */
                                    i_sum += f_cell * f_cell * f_latt * f_latt;
                                    if (p->oversample_thick)
                                        i_sum *= capture;
                                    if (os_polar)
                                        i_sum *= polar;
                                    if (p->oversample_omega)
                                        i_sum *= omega;
                                }
                            }
                        }
                    }
                }
            }

            test = p->r_e_sqr * p->fluence * i_sum / (double)p->steps;
            if (!p->oversample_thick)
                test *= capture;
            if (!os_polar)
                test *= polar;
            if (!p->oversample_omega)
                test *= omega;
            image[(size_t)s * (size_t)p->fpixels + (size_t)f] = (float)(0.0 + test);
        }
    }
    return 0;
}
