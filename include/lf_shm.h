/*
 * lf_shm.h - the shared-memory region the master maps before forking, and
 * the process-shared robust mutexes that guard everything inside it.
 * Everything in the region is addressed by offsets, never pointers.
 */
#ifndef LF_SHM_H
#define LF_SHM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LF_SHM_MAGIC UINT64_C(0x4c46534d454d3031) /* "LFSMEM01" */
#define LF_SHM_LAYOUT_VERSION 2 /* 2: the zone's layout record follows the header */

/* Header at offset 0 of the region. */
struct lf_shm_header {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t reserved;
	uint64_t size;       /* whole region, bytes */
	uint64_t generation; /* bumped by the master at each worker generation */
};

/* Map a shared region of `size` bytes (rounded up to pages), zeroed, with
 * its header written, backed by a memfd whose fd (close-on-exec; the
 * caller closes it) goes to *fd, so another program can map the same
 * pages. NULL on failure (errno set). */
void *lf_shm_create_fd(size_t size, int *fd);
/* The same without keeping the fd (tests). */
void *lf_shm_create(size_t size);
/* Map the region of an inherited memfd made by lf_shm_create_fd(size)
 * after checking that its size, magic and layout version are this build's;
 * NULL with *why saying what differed. */
void *lf_shm_attach(int fd, size_t size, const char **why);
void lf_shm_destroy(void *base, size_t size);

/* Initialise a process-shared, robust mutex living in shared memory. */
bool lf_shm_mutex_init(pthread_mutex_t *m);
/* Lock; returns true normally. If the previous owner died holding it
 * (EOWNERDEAD), the mutex is made consistent, *owner_died is set to true
 * and the caller must repair (wipe) what it guards before going on.
 * Returns false only on an unrecoverable error (ENOTRECOVERABLE). */
bool lf_shm_mutex_lock(pthread_mutex_t *m, bool *owner_died);
void lf_shm_mutex_unlock(pthread_mutex_t *m);

#endif
