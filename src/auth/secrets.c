/*
 * auth/secrets.c - files that hold secrets (lf_auth.h): the pepper (made
 * on first use, 32 random bytes, mode 0600, in a 0750 directory), password
 * files, and the permission check every such file passes: not readable by
 * group or others, or a warning (or a refusal, by configuration).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lf_auth.h"

lf_rc lf_auth_secret_file_check(const char *path, enum lf_secret_mode mode, char *why,
				size_t whylen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return LF_ERROR;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		return LF_ERROR;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0) {
		why[0] = '\0';
		return LF_OK;
	}
	snprintf(why, whylen, "%s holds a secret and is readable by %s (mode %04o); chmod 600 it",
		 path, (st.st_mode & S_IRWXO) ? "others" : "its group",
		 (unsigned)(st.st_mode & 07777));
	return mode == LF_SECRET_REFUSE ? LF_ERROR : LF_DECLINED;
}

/* mkdir -p of path's directory, each new level 0750. */
static bool make_parent(const char *path)
{
	char dir[4096];
	size_t n = strlen(path);
	if (n >= sizeof dir)
		return false;
	memcpy(dir, path, n + 1);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return true;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) != 0 && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(dir, 0750) == 0 || errno == EEXIST;
}

static lf_rc create_pepper(const char *path, char *err, size_t errlen)
{
	uint8_t fresh[LF_AUTH_PEPPER_LEN];
	if (!make_parent(path)) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path,
			 strerror(errno));
		return LF_ERROR;
	}
	if (RAND_bytes(fresh, sizeof fresh) != 1) {
		snprintf(err, errlen, "no random bytes for a new pepper");
		return LF_ERROR;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		OPENSSL_cleanse(fresh, sizeof fresh);
		if (errno == EEXIST)
			return LF_OK; /* someone else made it first: read theirs */
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return LF_ERROR;
	}
	ssize_t w = write(fd, fresh, sizeof fresh);
	OPENSSL_cleanse(fresh, sizeof fresh);
	if (w != (ssize_t)sizeof fresh || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return LF_ERROR;
	}
	close(fd);
	return LF_OK;
}

lf_rc lf_auth_pepper_load(const char *path, bool create, enum lf_secret_mode mode,
			  uint8_t pepper[LF_AUTH_PEPPER_LEN], char *err, size_t errlen)
{
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no pepper file configured ([auth] pepper_file)");
		return LF_ERROR;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		if (!create) {
			snprintf(err, errlen, "%s does not exist", path);
			return LF_ERROR;
		}
		if (create_pepper(path, err, errlen) != LF_OK)
			return LF_ERROR;
	}
	char why[512];
	lf_rc rc = lf_auth_secret_file_check(path, mode, why, sizeof why);
	if (rc == LF_ERROR) {
		snprintf(err, errlen, "%s", why);
		return LF_ERROR;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return LF_ERROR;
	}
	uint8_t buf[LF_AUTH_PEPPER_LEN + 1];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n != LF_AUTH_PEPPER_LEN) {
		OPENSSL_cleanse(buf, sizeof buf);
		snprintf(err, errlen, "%s must hold exactly %d bytes", path, LF_AUTH_PEPPER_LEN);
		return LF_ERROR;
	}
	memcpy(pepper, buf, LF_AUTH_PEPPER_LEN);
	OPENSSL_cleanse(buf, sizeof buf);
	/* a warning is the caller's to log; the pepper is usable */
	if (rc == LF_DECLINED)
		snprintf(err, errlen, "%s", why);
	else
		err[0] = '\0';
	return rc == LF_DECLINED ? LF_DECLINED : LF_OK;
}

lf_rc lf_auth_read_secret_file(const char *path, enum lf_secret_mode mode, char *out, size_t cap,
			       char *err, size_t errlen)
{
	char why[512];
	lf_rc rc = lf_auth_secret_file_check(path, mode, why, sizeof why);
	if (rc == LF_ERROR) {
		snprintf(err, errlen, "%s", why);
		return LF_ERROR;
	}
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return LF_ERROR;
	}
	out[0] = '\0';
	bool ok = fgets(out, (int)cap, f) != NULL || feof(f);
	fclose(f);
	if (!ok) {
		snprintf(err, errlen, "cannot read %s", path);
		return LF_ERROR;
	}
	out[strcspn(out, "\r\n")] = '\0';
	if (rc == LF_DECLINED)
		snprintf(err, errlen, "%s", why);
	else
		err[0] = '\0';
	return rc;
}
