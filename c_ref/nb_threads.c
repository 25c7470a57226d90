/* Two simulation handles rendering at the same time from two C threads (the library's
 * thread-safety contract: distinct handles may be used concurrently; a handle must not be
 * shared between threads without the caller's locking). Each thread's image must equal the
 * one rendered alone on the main thread beforehand.
 *
 * usage: nb_threads "<nanoBragg arguments A>" "<nanoBragg arguments B>"
 * Prints "ok" and exits 0, or names the first difference and exits 1. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nanobragg.h"

#define MAX_ARGS 64

typedef struct {
    char words[4096];
    const char *argv[MAX_ARGS];
    int argc;
    float *image;
    size_t len;
    nb_status status;
    char error[512];
} job;

static void split(job *j, const char *line) {
    char *save = NULL;
    char *w;
    strncpy(j->words, line, sizeof j->words - 1);
    j->argv[0] = "nanoBragg";
    j->argc = 1;
    for (w = strtok_r(j->words, " ", &save); w != NULL && j->argc < MAX_ARGS;
         w = strtok_r(NULL, " ", &save)) {
        j->argv[j->argc++] = w;
    }
}

static void *render(void *arg) {
    job *j = arg;
    nb_sim *sim = NULL;
    size_t f = 0, s = 0;
    j->status = nb_sim_create(j->argc, j->argv, &sim);
    if (j->status == NB_OK) j->status = nb_sim_image_size(sim, &f, &s);
    if (j->status == NB_OK) {
        j->len = f * s;
        j->image = malloc(j->len * sizeof(float));
        j->status = j->image ? nb_sim_render(sim, NB_PRECISION_DEFAULT, j->image, j->len)
                             : NB_ERR_LENGTH;
    }
    if (j->status != NB_OK) snprintf(j->error, sizeof j->error, "%s", nb_last_error());
    nb_sim_free(sim);
    return NULL;
}

int main(int argc, char **argv) {
    job alone[2], together[2];
    pthread_t t[2];
    int i;
    if (argc != 3) {
        fprintf(stderr, "usage: nb_threads \"<args A>\" \"<args B>\"\n");
        return 2;
    }
    memset(alone, 0, sizeof alone);
    memset(together, 0, sizeof together);
    for (i = 0; i < 2; i++) {
        split(&alone[i], argv[1 + i]);
        split(&together[i], argv[1 + i]);
        render(&alone[i]);
        if (alone[i].status != NB_OK) {
            fprintf(stderr, "job %d: status %d: %s\n", i, (int)alone[i].status, alone[i].error);
            return 1;
        }
    }
    for (i = 0; i < 2; i++) pthread_create(&t[i], NULL, render, &together[i]);
    for (i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (i = 0; i < 2; i++) {
        if (together[i].status != NB_OK) {
            fprintf(stderr, "thread %d: status %d: %s\n", i, (int)together[i].status,
                    together[i].error);
            return 1;
        }
        if (together[i].len != alone[i].len ||
            memcmp(together[i].image, alone[i].image, alone[i].len * sizeof(float)) != 0) {
            fprintf(stderr, "thread %d: image differs from the one rendered alone\n", i);
            return 1;
        }
    }
    printf("ok\n");
    return 0;
}
