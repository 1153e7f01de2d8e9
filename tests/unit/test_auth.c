/*
 * test_auth.c - unit tests for src/auth/: key format and randomness, the
 * Authorization header grammar, digests under a pepper (and their
 * constant-time comparison), scope lists, derived secrets, and the files
 * that hold secrets (pepper creation, mode checks, password files).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "lf_auth.h"
#include "../lf_cunit.h"

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/lf-test-auth-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : 1;
}

static int suite_clean(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : 1;
}

static void test_key_format(void)
{
	char key[LF_AUTH_KEY_LEN + 1], prefix[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT_EQUAL_FATAL(lf_auth_key_generate(key, prefix), LF_OK);
	CU_ASSERT_EQUAL(strlen(key), LF_AUTH_KEY_LEN);
	CU_ASSERT_EQUAL(strlen(prefix), LF_AUTH_PREFIX_LEN);
	CU_ASSERT_EQUAL(strncmp(key, "lfk_", 4), 0);
	CU_ASSERT_EQUAL(memcmp(key, prefix, LF_AUTH_PREFIX_LEN), 0);
	CU_ASSERT_EQUAL(key[LF_AUTH_PREFIX_LEN], '_');
	/* the header grammar accepts exactly what the generator makes */
	char header[128], got[LF_AUTH_PREFIX_LEN + 1];
	const char *k = NULL;
	snprintf(header, sizeof header, "Bearer %s", key);
	CU_ASSERT_EQUAL(lf_auth_key_from_header(header, &k, got), LF_OK);
	CU_ASSERT_STRING_EQUAL(got, prefix);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(strncmp(k, key, LF_AUTH_KEY_LEN), 0);
	snprintf(header, sizeof header, "bearer   %s ", key);
	CU_ASSERT_EQUAL(lf_auth_key_from_header(header, &k, got), LF_OK);
}

static void test_keys_differ(void)
{
	/* 200 keys: no repeated prefix or secret (48 + 256 random bits) */
	enum { N = 200 };
	static char keys[N][LF_AUTH_KEY_LEN + 1];
	char prefix[LF_AUTH_PREFIX_LEN + 1];
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(lf_auth_key_generate(keys[i], prefix), LF_OK);
	int same = 0;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			if (memcmp(keys[i], keys[j], LF_AUTH_PREFIX_LEN) == 0 ||
			    strcmp(keys[i] + LF_AUTH_PREFIX_LEN, keys[j] + LF_AUTH_PREFIX_LEN) == 0)
				same++;
	CU_ASSERT_EQUAL(same, 0);
}

static void test_header_rejects(void)
{
	char key[LF_AUTH_KEY_LEN + 1], prefix[LF_AUTH_PREFIX_LEN + 1], got[LF_AUTH_PREFIX_LEN + 1];
	const char *k;
	CU_ASSERT_EQUAL_FATAL(lf_auth_key_generate(key, prefix), LF_OK);
	CU_ASSERT_EQUAL(lf_auth_key_from_header(NULL, &k, got), LF_DECLINED);
	CU_ASSERT_EQUAL(lf_auth_key_from_header("Basic dXNlcjpwYXNz", &k, got), LF_DECLINED);
	CU_ASSERT_EQUAL(lf_auth_key_from_header("Bearer", &k, got), LF_DECLINED);
	CU_ASSERT_EQUAL(lf_auth_key_from_header("Bearer ", &k, got), LF_ERROR);
	CU_ASSERT_EQUAL(lf_auth_key_from_header("Bearer lfk_abc", &k, got), LF_ERROR);
	char bad[128];
	/* one character short, one too long, upper-case hex, a bad secret char */
	snprintf(bad, sizeof bad, "Bearer %.*s", LF_AUTH_KEY_LEN - 1, key);
	CU_ASSERT_EQUAL(lf_auth_key_from_header(bad, &k, got), LF_ERROR);
	snprintf(bad, sizeof bad, "Bearer %sA", key);
	CU_ASSERT_EQUAL(lf_auth_key_from_header(bad, &k, got), LF_ERROR);
	snprintf(bad, sizeof bad, "Bearer %s", key);
	bad[7 + 5] = 'G';
	CU_ASSERT_EQUAL(lf_auth_key_from_header(bad, &k, got), LF_ERROR);
	snprintf(bad, sizeof bad, "Bearer %s", key);
	bad[7 + LF_AUTH_KEY_LEN - 1] = '=';
	CU_ASSERT_EQUAL(lf_auth_key_from_header(bad, &k, got), LF_ERROR);
	snprintf(bad, sizeof bad, "Bearer %s", key);
	bad[7 + LF_AUTH_PREFIX_LEN] = '-';
	CU_ASSERT_EQUAL(lf_auth_key_from_header(bad, &k, got), LF_ERROR);
}

static void test_digest(void)
{
	uint8_t pepper[LF_AUTH_PEPPER_LEN], other[LF_AUTH_PEPPER_LEN];
	memset(pepper, 7, sizeof pepper);
	memset(other, 8, sizeof other);
	char key[LF_AUTH_KEY_LEN + 1], key2[LF_AUTH_KEY_LEN + 1], prefix[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT_EQUAL_FATAL(lf_auth_key_generate(key, prefix), LF_OK);
	CU_ASSERT_EQUAL_FATAL(lf_auth_key_generate(key2, prefix), LF_OK);
	uint8_t a[LF_AUTH_DIGEST_LEN], b[LF_AUTH_DIGEST_LEN], c[LF_AUTH_DIGEST_LEN],
		d[LF_AUTH_DIGEST_LEN];
	lf_auth_key_digest(pepper, key, a);
	lf_auth_key_digest(pepper, key, b);
	lf_auth_key_digest(other, key, c);
	lf_auth_key_digest(pepper, key2, d);
	CU_ASSERT_TRUE(lf_auth_digest_equal(a, b));
	CU_ASSERT_FALSE(lf_auth_digest_equal(a, c)); /* another pepper */
	CU_ASSERT_FALSE(lf_auth_digest_equal(a, d)); /* another key */
	/* one changed secret character changes the digest */
	key[LF_AUTH_KEY_LEN - 1] = key[LF_AUTH_KEY_LEN - 1] == 'A' ? 'B' : 'A';
	lf_auth_key_digest(pepper, key, c);
	CU_ASSERT_FALSE(lf_auth_digest_equal(a, c));
	/* an all-zero digest (a failed HMAC) never matches, not even itself */
	uint8_t zero[LF_AUTH_DIGEST_LEN] = {0};
	CU_ASSERT_FALSE(lf_auth_digest_equal(zero, zero));
	/* derived secrets differ by label and from the digest of anything */
	uint8_t s1[LF_AUTH_SECRET_LEN], s2[LF_AUTH_SECRET_LEN], s3[LF_AUTH_SECRET_LEN];
	lf_auth_derive(pepper, "outcome-mac", s1);
	lf_auth_derive(pepper, "cursor-mac", s2);
	lf_auth_derive(other, "outcome-mac", s3);
	CU_ASSERT_NOT_EQUAL(memcmp(s1, s2, sizeof s1), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(s1, s3, sizeof s1), 0);
}

static void test_scopes(void)
{
	unsigned s;
	char bad[65], buf[256];
	CU_ASSERT_TRUE(lf_auth_scopes_parse("accounts:read,payments:write", &s, bad));
	CU_ASSERT_EQUAL(s, LF_SCOPE_ACCOUNTS_READ | LF_SCOPE_PAYMENTS_WRITE);
	lf_auth_scopes_format(s, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "accounts:read,payments:write");
	CU_ASSERT_TRUE(lf_auth_scopes_parse("admin", &s, bad));
	CU_ASSERT_TRUE(lf_auth_scopes_allow(s, LF_SCOPE_FUNDS_ISSUE));
	CU_ASSERT_TRUE(lf_auth_scopes_parse(
		"accounts:read,accounts:write,payments:read,payments:write,funds:issue,events:read",
		&s, bad));
	CU_ASSERT_FALSE(lf_auth_scopes_allow(s, LF_SCOPE_ADMIN));
	CU_ASSERT_TRUE(lf_auth_scopes_allow(s, LF_SCOPE_PAYMENTS_READ | LF_SCOPE_EVENTS_READ));
	CU_ASSERT_FALSE(lf_auth_scopes_allow(LF_SCOPE_ACCOUNTS_READ,
					     LF_SCOPE_ACCOUNTS_READ | LF_SCOPE_ACCOUNTS_WRITE));
	CU_ASSERT_FALSE(lf_auth_scopes_parse("accounts:read,,payments:read", &s, bad));
	CU_ASSERT_STRING_EQUAL(bad, "");
	CU_ASSERT_FALSE(lf_auth_scopes_parse("accounts:read,root", &s, bad));
	CU_ASSERT_STRING_EQUAL(bad, "root");
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_FALSE(lf_auth_scopes_parse("Accounts:read", &s, bad));
	CU_ASSERT_FALSE(lf_auth_scopes_parse("", &s, bad));
	lf_auth_scopes_format(LF_SCOPE_ALL, buf, 20); /* truncated, still terminated */
	CU_ASSERT_TRUE(strlen(buf) < 20);
}

static void test_pepper_file(void)
{
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/lib/ledgerflow/pepper", tmpdir);
	uint8_t p1[LF_AUTH_PEPPER_LEN], p2[LF_AUTH_PEPPER_LEN];
	/* missing and not to be created */
	CU_ASSERT_EQUAL(lf_auth_pepper_load(path, false, LF_SECRET_REFUSE, p1, err, sizeof err),
			LF_ERROR);
	/* created with its directories, 0600, 32 bytes; read back the same */
	CU_ASSERT_EQUAL_FATAL(
		lf_auth_pepper_load(path, true, LF_SECRET_REFUSE, p1, err, sizeof err), LF_OK);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(st.st_size, LF_AUTH_PEPPER_LEN);
	CU_ASSERT_EQUAL(lf_auth_pepper_load(path, true, LF_SECRET_REFUSE, p2, err, sizeof err),
			LF_OK);
	CU_ASSERT_EQUAL(memcmp(p1, p2, sizeof p1), 0);
	/* readable by others: a warning, or a refusal */
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(lf_auth_pepper_load(path, true, LF_SECRET_WARN, p2, err, sizeof err),
			LF_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "readable by others"));
	CU_ASSERT_EQUAL(lf_auth_pepper_load(path, true, LF_SECRET_REFUSE, p2, err, sizeof err),
			LF_ERROR);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(lf_auth_pepper_load(path, true, LF_SECRET_REFUSE, p2, err, sizeof err),
			LF_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "its group"));
	/* the wrong size is refused, never padded */
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("short\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(lf_auth_pepper_load(path, true, LF_SECRET_REFUSE, p2, err, sizeof err),
			LF_ERROR);
	CU_ASSERT_PTR_NULL(strstr(err, "short")); /* the content never appears */
}

static void test_password_file(void)
{
	char path[128], out[64], err[512];
	snprintf(path, sizeof path, "%s/mysql.password", tmpdir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("s3cret pass\r\nsecond line\n", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(
		lf_auth_read_secret_file(path, LF_SECRET_REFUSE, out, sizeof out, err, sizeof err),
		LF_OK);
	CU_ASSERT_STRING_EQUAL(out, "s3cret pass");
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0604), 0);
	CU_ASSERT_EQUAL(
		lf_auth_read_secret_file(path, LF_SECRET_WARN, out, sizeof out, err, sizeof err),
		LF_DECLINED);
	CU_ASSERT_STRING_EQUAL(out, "s3cret pass");
	CU_ASSERT_PTR_NULL(strstr(err, "s3cret"));
	CU_ASSERT_EQUAL(
		lf_auth_read_secret_file(path, LF_SECRET_REFUSE, out, sizeof out, err, sizeof err),
		LF_ERROR);
	/* an empty file is an empty password */
	f = fopen(path, "w");
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	strcpy(out, "stale");
	CU_ASSERT_EQUAL(
		lf_auth_read_secret_file(path, LF_SECRET_REFUSE, out, sizeof out, err, sizeof err),
		LF_OK);
	CU_ASSERT_STRING_EQUAL(out, "");
	char missing[160];
	snprintf(missing, sizeof missing, "%s/none", tmpdir);
	CU_ASSERT_EQUAL(
		lf_auth_read_secret_file(missing, LF_SECRET_WARN, out, sizeof out, err, sizeof err),
		LF_ERROR);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("auth", suite_init, suite_clean);
	CU_add_test(s, "key format and header round trip", test_key_format);
	CU_add_test(s, "200 keys share no prefix or secret", test_keys_differ);
	CU_add_test(s, "malformed Authorization values", test_header_rejects);
	CU_add_test(s, "digests under a pepper, derived secrets", test_digest);
	CU_add_test(s, "scope lists", test_scopes);
	CU_add_test(s, "pepper file: created 0600, mode checks, size", test_pepper_file);
	CU_add_test(s, "password files", test_password_file);
	return lf_cunit_run();
}
