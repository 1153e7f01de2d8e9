/*
 * core/config_int.h - private to config.c, config_value.c and
 * config_secrets.c: the one number reader both the value parsers and the
 * integer keys use, and the last step of a load (password files, the
 * permissions of files holding secrets). Not part of the public lf_config.h
 * interface.
 */
#ifndef LF_CONFIG_INT_H
#define LF_CONFIG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Decimal digits only (at least one), no sign, no overflow. */
static inline bool parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (p == s)
		return false;
	*end = p;
	*out = n;
	return true;
}

/* config_secrets.c. Problems and warnings are lines on errors (may be
 * NULL), "SOURCE: section.key: text"; only problems are counted. */
struct cfg_secrets {
	FILE *errors;
	unsigned nerrors; /* problems; a warning is not one */
	bool refuse;      /* server.secret_permissions = refuse */
};
/* [section] file_key = file (set at src): replace *password (the value of
 * section.password_key), which must have been left empty, with the file's
 * first line (at most max bytes). The file must be private to the user
 * (lf_auth rules). */
void cfg_secrets_password_file(struct cfg_secrets *x, const char *src, const char *section,
			       const char *file_key, const char *password_key, const char *file,
			       size_t max, char **password);
/* The configuration file path sets the secret section.name (at src): it
 * must not be readable by others. */
void cfg_secrets_check_conf(struct cfg_secrets *x, const char *path, const char *src,
			    const char *section, const char *name);
/* A private key file (a TLS client certificate's) readable by others. */
void cfg_secrets_check_key_file(struct cfg_secrets *x, const char *src, const char *section,
				const char *name, const char *path);

#endif
