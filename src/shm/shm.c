/*
 * shm/shm.c - the shared-memory region and its robust mutexes.
 *
 * Owns the MAP_SHARED mapping of a memfd the master creates before forking
 * (so every worker generation sees the same pages, and a new binary started
 * by a binary upgrade can map the same pages from the inherited fd), the
 * header at offset 0 of that region, and the process-shared robust mutexes
 * that guard what lives inside it. A mutex whose owner died is made consistent here; the
 * caller is told so and repairs (wipes) whatever the mutex guards.
 */
#include "config.h"

#include "lf_shm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(struct lf_shm_header) == 32, "lf_shm_header layout changed");
_Static_assert(_Alignof(struct lf_shm_header) == 8, "lf_shm_header alignment");

static size_t shm_round(size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;
	if (size > SIZE_MAX - (page - 1))
		return 0;
	return (size + page - 1) / page * page;
}

void *lf_shm_create_fd(size_t size, int *fd_out)
{
	*fd_out = -1;
	if (size < sizeof(struct lf_shm_header)) {
		errno = EINVAL;
		return NULL;
	}
	size_t len = shm_round(size);
	if (len == 0) {
		errno = ENOMEM;
		return NULL;
	}
	int fd = memfd_create("ledgerflow-zone", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	/* A new memfd reads as zeros; only the header needs writing. */
	struct lf_shm_header *h = base;
	h->magic = LF_SHM_MAGIC;
	h->layout_version = LF_SHM_LAYOUT_VERSION;
	h->reserved = 0;
	h->size = len;
	h->generation = 0;
	*fd_out = fd;
	return base;
}

void *lf_shm_create(size_t size)
{
	int fd;
	void *base = lf_shm_create_fd(size, &fd);
	if (base != NULL)
		close(fd); /* the mapping keeps the pages */
	return base;
}

void *lf_shm_attach(int fd, size_t size, const char **why)
{
	size_t len = shm_round(size);
	struct stat st;
	*why = NULL;
	if (len == 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a shared memory file";
		return NULL;
	}
	if ((uint64_t)st.st_size != len) {
		*why = "size differs";
		return NULL;
	}
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		*why = "mmap failed";
		return NULL;
	}
	const struct lf_shm_header *h = base;
	if (h->magic != LF_SHM_MAGIC || h->layout_version != LF_SHM_LAYOUT_VERSION ||
	    h->size != len) {
		*why = "header magic, layout version or size differs";
		munmap(base, len);
		return NULL;
	}
	return base;
}

void lf_shm_destroy(void *base, size_t size)
{
	if (base == NULL)
		return;
	munmap(base, shm_round(size));
}

bool lf_shm_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	bool ok = false;
	if (pthread_mutexattr_init(&attr) != 0)
		return false;
	if (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 &&
	    pthread_mutex_init(m, &attr) == 0)
		ok = true;
	pthread_mutexattr_destroy(&attr);
	return ok;
}

bool lf_shm_mutex_lock(pthread_mutex_t *m, bool *owner_died)
{
	if (owner_died != NULL)
		*owner_died = false;
	int rc = pthread_mutex_lock(m);
	if (rc == 0)
		return true;
	if (rc == EOWNERDEAD) {
		/* We own it now; what it guards may be half written. */
		if (pthread_mutex_consistent(m) != 0) {
			pthread_mutex_unlock(m);
			return false;
		}
		if (owner_died != NULL)
			*owner_died = true;
		return true;
	}
	return false; /* ENOTRECOVERABLE, EDEADLK, EINVAL */
}

void lf_shm_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}
