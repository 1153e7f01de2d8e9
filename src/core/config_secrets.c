/*
 * core/config_secrets.c - the last step of loading the configuration
 * (config_int.h): a password kept in its own file ([mysql] and [redis]
 * password_file, [mysql] admin_password_file) is read into its password, and the files that hold
 * secrets are checked for who may read them. A password file must be
 * private to its owner (the lf_auth rule); the configuration file, which
 * the service's group usually reads, must not be readable by others when
 * it holds a password. Either breach is a warning, or a problem with
 * server.secret_permissions = refuse. No secret value is ever printed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lf_auth.h"
#include "config_int.h"

static void __attribute__((format(printf, 5, 6)))
say(struct cfg_secrets *x, bool problem, const char *src, const char *key, const char *fmt, ...)
{
	va_list ap;
	if (problem)
		x->nerrors++;
	if (!x->errors)
		return;
	fprintf(x->errors, "%s: %s: %s", src, key, problem ? "" : "warning: ");
	va_start(ap, fmt);
	vfprintf(x->errors, fmt, ap);
	va_end(ap);
	fputc('\n', x->errors);
}

void cfg_secrets_password_file(struct cfg_secrets *x, const char *src, const char *section,
			       const char *file_key, const char *password_key, const char *file,
			       size_t max, char **password)
{
	char key[64], pwkey[64];
	snprintf(key, sizeof key, "%s.%s", section, file_key);
	snprintf(pwkey, sizeof pwkey, "%s.%s", section, password_key);
	if (*password && (*password)[0] != '\0') {
		say(x, true, src, key, "set together with %s; use one of the two", pwkey);
		return;
	}
	char buf[4096], err[600];
	enum lf_secret_mode mode = x->refuse ? LF_SECRET_REFUSE : LF_SECRET_WARN;
	if (max > sizeof buf - 2)
		max = sizeof buf - 2;
	/* one byte more than allowed, to tell a long password from a cut one */
	lf_rc rc = lf_auth_read_secret_file(file, mode, buf, max + 2, err, sizeof err);
	if (rc == LF_ERROR) {
		say(x, true, src, key, "%s", err);
		goto out;
	}
	if (rc == LF_DECLINED)
		say(x, false, src, key, "%s", err);
	size_t n = strlen(buf);
	bool ctl = false;
	for (size_t i = 0; i < n; i++)
		ctl |= (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f;
	if (n == 0)
		say(x, true, src, key, "%s: the first line (the password) is empty", file);
	else if (n > max)
		say(x, true, src, key, "%s: the password is longer than %zu bytes", file, max);
	else if (ctl)
		say(x, true, src, key, "%s: the password contains a control character", file);
	else {
		char *dup = strdup(buf);
		if (!dup) {
			say(x, true, src, key, "out of memory");
			goto out;
		}
		free(*password);
		*password = dup;
	}
out:
	explicit_bzero(buf, sizeof buf);
}

void cfg_secrets_check_conf(struct cfg_secrets *x, const char *path, const char *src,
			    const char *section, const char *name)
{
	struct stat st;
	char key[64];
	/* it was just read; one that is not a plain file (a pipe) has no mode
	 * worth checking */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH))
		return;
	snprintf(key, sizeof key, "%s.%s", section, name);
	say(x, x->refuse, src, key,
	    "%s holds a secret and is readable by others (mode %04o); chmod o-rwx it, or keep "
	    "the secret in %s.password_file or the environment",
	    path, (unsigned)(st.st_mode & 07777), section);
}

void cfg_secrets_check_key_file(struct cfg_secrets *x, const char *src, const char *section,
				const char *name, const char *path)
{
	struct stat st;
	char key[64];
	/* a missing file is the TLS set-up's to report, with the library's words */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH))
		return;
	snprintf(key, sizeof key, "%s.%s", section, name);
	say(x, x->refuse, src, key,
	    "%s is a private key and is readable by others (mode %04o); chmod o-rwx it", path,
	    (unsigned)(st.st_mode & 07777));
}
