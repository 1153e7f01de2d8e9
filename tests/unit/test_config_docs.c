/*
 * test_config_docs.c - keeps the documentation of the configuration in
 * step with the key table in src/core/config.c (in the spirit of pgbouncer's
 * optscan). For every key of the table: the sample etc/ledgerflow.conf
 * has a "name = default" line in its [section] (a commented-out
 * "# name = ..." counts for keys whose default depends on the build), the
 * table of doc/configuration.md has its row with the right default and
 * reload flag, and man/ledgerflow.conf.5 describes it under its section.
 * The other way round, every key those documents name must exist. The
 * source tree is found through LF_SRCDIR (set by make check), else ".".
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/Basic.h>

#include "lf_config.h"
#include "../lf_cunit.h"

#define MAX_LINES 4096
#define MAX_FILE (1024 * 1024)

struct doc {
	char *text;
	char *lines[MAX_LINES];
	size_t n;
	bool ok;
};

static struct doc sample, markdown, manpage;

static const char *srcdir(void)
{
	const char *d = getenv("LF_SRCDIR");
	return d && *d ? d : ".";
}

/* Read srcdir/rel and split it into lines (the text is modified). */
static void doc_load(struct doc *d, const char *rel)
{
	char path[4096];
	FILE *f;
	long len;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/%s", srcdir(), rel);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > MAX_FILE ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return;
	}
	d->text = calloc(1, (size_t)len + 1);
	if (d->text && fread(d->text, 1, (size_t)len, f) == (size_t)len) {
		char *p = d->text;
		while (*p && d->n < MAX_LINES) {
			char *nl = strchr(p, '\n');
			d->lines[d->n++] = p;
			if (!nl)
				break;
			*nl = '\0';
			p = nl + 1;
		}
		d->ok = d->n > 0 && d->n < MAX_LINES;
	}
	fclose(f);
}

static void doc_free(struct doc *d)
{
	free(d->text);
	memset(d, 0, sizeof(*d));
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Copy s without its trailing blanks. */
static void rtrim_copy(char *out, size_t cap, const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* ---- etc/ledgerflow.conf ---- */

/* "[section]" -> section name in out; false if the line is no header. */
static bool ini_section(const char *line, char *out, size_t cap)
{
	const char *s = skip_blanks(line), *close;
	if (*s != '[' || !(close = strchr(s, ']')))
		return false;
	rtrim_copy(out, cap, s + 1, (size_t)(close - s - 1));
	return true;
}

/* Find "name = value" (or, when commented is set, "# name = value" /
 * "; name = value") in [section]. On success the value, without an inline
 * " ;" comment, is copied to value and *was_commented tells which form. */
static bool ini_find(const struct doc *d, const char *section, const char *name, char *value,
		     size_t cap, bool *was_commented)
{
	char cur[64] = "";
	size_t nl = strlen(name);

	for (size_t i = 0; i < d->n; i++) {
		const char *s = skip_blanks(d->lines[i]);
		bool commented = false;
		char sec[64];

		if (ini_section(s, sec, sizeof(sec))) {
			snprintf(cur, sizeof(cur), "%s", sec);
			continue;
		}
		if (strcasecmp(cur, section) != 0)
			continue;
		if (*s == '#' || *s == ';') {
			commented = true;
			s = skip_blanks(s + 1);
		}
		if (strncasecmp(s, name, nl) != 0)
			continue;
		s = skip_blanks(s + nl);
		if (*s != '=')
			continue;
		s = skip_blanks(s + 1);
		size_t n = strlen(s);
		for (size_t j = 0; j + 1 < n; j++)
			if ((s[j] == ' ' || s[j] == '\t') && s[j + 1] == ';') {
				n = j;
				break;
			}
		rtrim_copy(value, cap, s, n);
		*was_commented = commented;
		return true;
	}
	return false;
}

static void test_sample_has_every_key(void)
{
	struct lf_config_key_info k;
	char value[512];
	bool commented;
	size_t missing = 0;

	CU_ASSERT_FATAL(sample.ok);
	CU_ASSERT(lf_config_key_count() > 0);
	for (size_t i = 0; lf_config_key_info(i, &k); i++) {
		if (!ini_find(&sample, k.section, k.name, value, sizeof(value), &commented)) {
			fprintf(stderr, "etc/ledgerflow.conf: no \"%s =\" in [%s]\n", k.name,
				k.section);
			missing++;
		}
	}
	CU_ASSERT_EQUAL(missing, 0);
}

/* Active lines show the built-in default; only a key whose default comes
 * from the build (a path) may be commented out instead. */
static void test_sample_values_are_defaults(void)
{
	struct lf_config_key_info k;
	char value[512];
	bool commented;
	size_t wrong = 0, active = 0, build = 0;

	CU_ASSERT_FATAL(sample.ok);
	for (size_t i = 0; lf_config_key_info(i, &k); i++) {
		build += k.build_default;
		if (!ini_find(&sample, k.section, k.name, value, sizeof(value), &commented))
			continue; /* reported by test_sample_has_every_key */
		if (commented) {
			if (!k.build_default) {
				fprintf(stderr, "etc/ledgerflow.conf: %s.%s is commented out\n",
					k.section, k.name);
				wrong++;
			}
			continue;
		}
		active++;
		if (strcmp(value, k.default_text) != 0) {
			fprintf(stderr,
				"etc/ledgerflow.conf: %s.%s = \"%s\", the default is \"%s\"\n",
				k.section, k.name, k.secret ? "<hidden>" : value, k.default_text);
			wrong++;
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(active + build >= lf_config_key_count());
}

/* The sample passes the daemon's own parser (with no LEDGERFLOW_* from
 * the environment of the test run interfering). */
static void test_sample_loads(void)
{
	struct lf_config_key_info k;
	struct lf_config cfg;
	char path[4096], var[160];
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef;
	bool ok;

	for (size_t i = 0; lf_config_key_info(i, &k); i++) {
		size_t n =
			(size_t)snprintf(var, sizeof(var), "LEDGERFLOW_%s_%s", k.section, k.name);
		for (size_t j = 0; j < n && j < sizeof(var); j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		unsetenv(var);
	}
	snprintf(path, sizeof(path), "%s/etc/ledgerflow.conf", srcdir());
	ef = open_memstream(&errs, &errlen);
	CU_ASSERT_FATAL(ef != NULL);
	ok = lf_config_load(&cfg, path, ef);
	fclose(ef);
	if (!ok)
		fprintf(stderr, "%s", errs ? errs : "");
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(errlen, 0);
	if (ok) {
		CU_ASSERT_STRING_EQUAL(cfg.listen, "127.0.0.1:8080");
		CU_ASSERT_EQUAL(cfg.listen_port, 8080);
		CU_ASSERT_EQUAL(cfg.max_body_size, 64 * 1024);
		CU_ASSERT_EQUAL(cfg.cache_size, (size_t)16 * 1024 * 1024);
		CU_ASSERT_EQUAL(cfg.idempotency_retention_ms, (int64_t)24 * 3600 * 1000);
		CU_ASSERT_STRING_EQUAL(cfg.mysql_password, "");
	}
	lf_config_clear(&cfg);
	free(errs);
}

/* ---- doc/configuration.md ---- */

/* Split a Markdown table row "| a | `b` | c |" into trimmed cells without
 * backticks; returns the number of cells (0 if not a row). */
static size_t md_cells(const char *line, char cells[][256], size_t max)
{
	const char *s = skip_blanks(line);
	size_t n = 0;

	if (*s != '|')
		return 0;
	s++;
	while (*s && n < max) {
		const char *end = strchr(s, '|');
		char *o = cells[n];
		size_t w = 0;
		if (!end)
			break;
		s = skip_blanks(s);
		for (const char *p = s; p < end && w + 1 < 256; p++)
			if (*p != '`')
				o[w++] = *p;
		while (w > 0 && (o[w - 1] == ' ' || o[w - 1] == '\t'))
			w--;
		o[w] = '\0';
		n++;
		s = end + 1;
	}
	return n;
}

/* Columns: Section | Key | Type | Default | Reloadable | Description. */
static bool md_find(const char *section, const char *name, char cells[6][256])
{
	for (size_t i = 0; i < markdown.n; i++)
		if (md_cells(markdown.lines[i], cells, 6) == 6 &&
		    strcasecmp(cells[0], section) == 0 && strcasecmp(cells[1], name) == 0)
			return true;
	return false;
}

static void test_markdown_has_every_key(void)
{
	struct lf_config_key_info k;
	char cells[6][256];
	size_t wrong = 0;

	CU_ASSERT_FATAL(markdown.ok);
	for (size_t i = 0; lf_config_key_info(i, &k); i++) {
		if (!md_find(k.section, k.name, cells)) {
			fprintf(stderr, "doc/configuration.md: no row for %s.%s\n", k.section,
				k.name);
			wrong++;
			continue;
		}
		/* the default as written, "(empty)" for an empty one; a build
		 * path is described rather than spelled out */
		const char *want = k.default_text[0] ? k.default_text : "(empty)";
		if (!k.build_default && strcmp(cells[3], want) != 0) {
			fprintf(stderr,
				"doc/configuration.md: %s.%s: the table says \"%s\", the default "
				"is \"%s\"\n",
				k.section, k.name, cells[3], want);
			wrong++;
		}
		if (strncasecmp(cells[4], k.reloadable ? "yes" : "no", k.reloadable ? 3 : 2) != 0) {
			fprintf(stderr, "doc/configuration.md: %s.%s reloadable should be %s\n",
				k.section, k.name, k.reloadable ? "yes" : "no");
			wrong++;
		}
		if (cells[5][0] == '\0') {
			fprintf(stderr, "doc/configuration.md: %s.%s has no description\n",
				k.section, k.name);
			wrong++;
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
}

static bool known_section(const char *section)
{
	struct lf_config_key_info k;
	for (size_t i = 0; lf_config_key_info(i, &k); i++)
		if (strcasecmp(k.section, section) == 0)
			return true;
	return false;
}

static bool known_key(const char *section, const char *name)
{
	struct lf_config_key_info k;
	for (size_t i = 0; lf_config_key_info(i, &k); i++)
		if (strcasecmp(k.section, section) == 0 && strcasecmp(k.name, name) == 0)
			return true;
	return false;
}

/* No row documents a key the server does not have. */
static void test_markdown_rows_are_keys(void)
{
	char cells[6][256];
	size_t rows = 0, unknown = 0;

	CU_ASSERT_FATAL(markdown.ok);
	for (size_t i = 0; i < markdown.n; i++) {
		if (md_cells(markdown.lines[i], cells, 6) != 6 || !known_section(cells[0]))
			continue;
		rows++;
		if (!known_key(cells[0], cells[1])) {
			fprintf(stderr, "doc/configuration.md: %s.%s is not a key\n", cells[0],
				cells[1]);
			unknown++;
		}
	}
	CU_ASSERT_EQUAL(unknown, 0);
	CU_ASSERT_EQUAL(rows, lf_config_key_count());
}

/* ---- man/ledgerflow.conf.5 ---- */

/* `.SS "[section]"` -> section; false if the line is no such header. */
static bool man_section(const char *line, char *out, size_t cap)
{
	const char *open, *close;
	if (strncmp(line, ".SS", 3) != 0 || !(open = strchr(line, '[')) ||
	    !(close = strchr(open, ']')))
		return false;
	rtrim_copy(out, cap, open + 1, (size_t)(close - open - 1));
	return true;
}

/* Call fn for each key entry: a ".B name" line right after ".TP" inside a
 * `.SS "[section]"` subsection. Returns the number of entries. */
static size_t man_entries(void (*fn)(const char *section, const char *name, void *arg), void *arg)
{
	char cur[64] = "", name[128];
	size_t count = 0;

	for (size_t i = 0; i < manpage.n; i++) {
		const char *l = manpage.lines[i];
		if (strncmp(l, ".SH", 3) == 0) {
			cur[0] = '\0';
			continue;
		}
		if (strncmp(l, ".SS", 3) == 0) {
			if (!man_section(l, cur, sizeof(cur)))
				cur[0] = '\0';
			continue;
		}
		if (cur[0] == '\0' || strcmp(l, ".TP") != 0 || i + 1 >= manpage.n ||
		    strncmp(manpage.lines[i + 1], ".B ", 3) != 0)
			continue;
		rtrim_copy(name, sizeof(name), manpage.lines[i + 1] + 3,
			   strlen(manpage.lines[i + 1] + 3));
		fn(cur, name, arg);
		count++;
	}
	return count;
}

struct man_search {
	const char *section, *name;
	bool found;
};

static void man_match(const char *section, const char *name, void *arg)
{
	struct man_search *s = arg;
	if (strcasecmp(section, s->section) == 0 && strcmp(name, s->name) == 0)
		s->found = true;
}

static void test_man_has_every_key(void)
{
	struct lf_config_key_info k;
	size_t missing = 0;

	CU_ASSERT_FATAL(manpage.ok);
	for (size_t i = 0; lf_config_key_info(i, &k); i++) {
		struct man_search s = {k.section, k.name, false};
		man_entries(man_match, &s);
		if (!s.found) {
			fprintf(stderr, "man/ledgerflow.conf.5: no .B %s under .SS \"[%s]\"\n",
				k.name, k.section);
			missing++;
		}
	}
	CU_ASSERT_EQUAL(missing, 0);
}

static void man_count_unknown(const char *section, const char *name, void *arg)
{
	size_t *unknown = arg;
	if (!known_key(section, name)) {
		fprintf(stderr, "man/ledgerflow.conf.5: %s.%s is not a key\n", section, name);
		(*unknown)++;
	}
}

static void test_man_entries_are_keys(void)
{
	size_t unknown = 0, entries;

	CU_ASSERT_FATAL(manpage.ok);
	entries = man_entries(man_count_unknown, &unknown);
	CU_ASSERT_EQUAL(unknown, 0);
	CU_ASSERT_EQUAL(entries, lf_config_key_count());
	/* the environment rule is documented */
	bool env = false;
	for (size_t i = 0; i < manpage.n && !env; i++)
		env = strstr(manpage.lines[i], "LEDGERFLOW_") != NULL;
	CU_ASSERT_TRUE(env);
}

static int suite_init(void)
{
	doc_load(&sample, "etc/ledgerflow.conf");
	doc_load(&markdown, "doc/configuration.md");
	doc_load(&manpage, "man/ledgerflow.conf.5");
	return 0;
}

static int suite_clean(void)
{
	doc_free(&sample);
	doc_free(&markdown);
	doc_free(&manpage);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("config_docs", suite_init, suite_clean);
	if (!s || !CU_add_test(s, "sample config has every key", test_sample_has_every_key) ||
	    !CU_add_test(s, "sample config shows the defaults", test_sample_values_are_defaults) ||
	    !CU_add_test(s, "sample config passes the parser", test_sample_loads) ||
	    !CU_add_test(s, "configuration.md has every key", test_markdown_has_every_key) ||
	    !CU_add_test(s, "configuration.md names only keys", test_markdown_rows_are_keys) ||
	    !CU_add_test(s, "ledgerflow.conf.5 has every key", test_man_has_every_key) ||
	    !CU_add_test(s, "ledgerflow.conf.5 names only keys", test_man_entries_are_keys)) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
