/*
 * test_ops_kit.c - keeps the operator's kit true to the code: the Grafana
 * dashboard contrib/grafana/ledgerflow.json is valid JSON (json-c's strict
 * parser), every panel has a unique id, a title and queries, and every
 * metric name that a query or contrib/prometheus/ledgerflow-rules.yml
 * uses is one the code exports: src/shm/metrics.c (/metrics) or the
 * textfile-collector files of src/ctl/metrics_file.c and src/ctl/anchor.c.
 * A metric renamed or removed in the code fails here until the dashboard
 * and the rules follow. The other way round, a metric of /metrics that no
 * panel shows is printed as a note. The source tree is found through
 * LF_SRCDIR (set by make check), else ".".
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "../lf_cunit.h"

#define MAX_FILE (4 * 1024 * 1024)
#define MAX_NAMES 512
#define NAME_LEN 96
#define PREFIX "ledgerflow_"

struct names {
	char v[MAX_NAMES][NAME_LEN];
	size_t n;
	bool overflow;
};

/* metric names the code exports, and those the kit uses */
static struct names exported, served, dashboard, rules;

static char *slurp(const char *rel)
{
	const char *d = getenv("LF_SRCDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", d && *d ? d : ".", rel);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	char *text = NULL;
	long len;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && len <= MAX_FILE &&
	    fseek(f, 0, SEEK_SET) == 0) {
		text = calloc(1, (size_t)len + 1);
		if (text && fread(text, 1, (size_t)len, f) != (size_t)len) {
			free(text);
			text = NULL;
		}
	}
	fclose(f);
	return text;
}

static bool has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

static void add(struct names *s, const char *name)
{
	if (has(s, name))
		return;
	if (s->n == MAX_NAMES || strlen(name) >= NAME_LEN) {
		s->overflow = true;
		return;
	}
	strcpy(s->v[s->n++], name);
}

/* Every ledgerflow_<[a-z0-9_]> token of text, the prefix not preceded by
 * a letter, digit or '_' (so "xledgerflow_" is no metric), except for an
 * escape in a C string ("\nledgerflow_..."). */
static void scan(struct names *s, const char *text)
{
	size_t plen = strlen(PREFIX);
	for (const char *p = text; (p = strstr(p, PREFIX)) != NULL; p += plen) {
		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_') &&
		    !(p - text >= 2 && p[-2] == '\\'))
			continue;
		size_t n = plen;
		while (islower((unsigned char)p[n]) || isdigit((unsigned char)p[n]) || p[n] == '_')
			n++;
		char name[NAME_LEN];
		if (n >= sizeof name) {
			s->overflow = true;
			continue;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		add(s, name);
	}
}

static json_object *load_dashboard(void);
static const char *str(json_object *o, const char *key);

/* The metric names of every query of the dashboard (none when it does not
 * parse: the panels test says why). */
static void scan_dashboard(void)
{
	json_object *d = load_dashboard(), *panels, *targets;
	if (d && json_object_object_get_ex(d, "panels", &panels))
		for (size_t i = 0; i < json_object_array_length(panels); i++)
			if (json_object_object_get_ex(json_object_array_get_idx(panels, i),
						      "targets", &targets))
				for (size_t t = 0; t < json_object_array_length(targets); t++) {
					const char *e =
						str(json_object_array_get_idx(targets, t), "expr");
					if (e)
						scan(&dashboard, e);
				}
	json_object_put(d);
}

static int suite_init(void)
{
	static const char *const sources[] = {"src/shm/metrics.c", "src/ctl/metrics_file.c",
					      "src/ctl/anchor.c"};
	for (size_t i = 0; i < LF_COUNT(sources); i++) {
		char *text = slurp(sources[i]);
		if (!text)
			return 1;
		scan(&exported, text);
		if (i == 0)
			scan(&served, text);
		free(text);
	}
	char *text = slurp("contrib/prometheus/ledgerflow-rules.yml");
	if (!text)
		return 1;
	scan(&rules, text);
	free(text);
	scan_dashboard();
	return exported.n > 40 && !exported.overflow ? 0 : 1;
}

static json_object *load_dashboard(void)
{
	char *text = slurp("contrib/grafana/ledgerflow.json");
	if (!text)
		return NULL;
	json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (json_tokener_get_error(tok) != json_tokener_success) {
		fprintf(stderr, "ledgerflow.json: %s at offset %zu\n",
			json_tokener_error_desc(json_tokener_get_error(tok)),
			json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	free(text);
	return o;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static void test_dashboard_panels(void)
{
	json_object *d = load_dashboard();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(str(d, "uid"), "ledgerflow");
	json_object *panels;
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(d, "panels", &panels) &&
			     json_object_is_type(panels, json_type_array));
	size_t n = json_object_array_length(panels), queries = 0, graphs = 0;
	int64_t ids[256];
	CU_ASSERT_TRUE_FATAL(n > 10 && n < LF_COUNT(ids));
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(panels, i), *v, *targets;
		CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(p, "id", &v));
		ids[i] = json_object_get_int64(v);
		for (size_t j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(ids[j], ids[i]);
		const char *title = str(p, "title"), *type = str(p, "type");
		CU_ASSERT_TRUE(title && *title);
		CU_ASSERT_PTR_NOT_NULL_FATAL(type);
		if (strcmp(type, "row") == 0)
			continue;
		graphs++;
		CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(p, "targets", &targets));
		size_t nt = json_object_array_length(targets);
		CU_ASSERT_TRUE(nt > 0);
		for (size_t t = 0; t < nt; t++) {
			const char *expr = str(json_object_array_get_idx(targets, t), "expr");
			CU_ASSERT_TRUE_FATAL(expr && strstr(expr, PREFIX));
			queries++;
		}
	}
	fprintf(stderr, "dashboard: %zu panels, %zu queries, %zu metric names\n", graphs, queries,
		dashboard.n);
	CU_ASSERT_FALSE(dashboard.overflow);
	json_object_put(d);
}

static size_t unknown(const struct names *used, const char *where)
{
	size_t bad = 0;
	for (size_t i = 0; i < used->n; i++)
		if (!has(&exported, used->v[i])) {
			fprintf(stderr, "%s uses %s, which the code does not export\n", where,
				used->v[i]);
			bad++;
		}
	return bad;
}

static void test_dashboard_names_exist(void)
{
	CU_ASSERT_TRUE_FATAL(dashboard.n > 30);
	CU_ASSERT_EQUAL(unknown(&dashboard, "contrib/grafana/ledgerflow.json"), 0);
	for (size_t i = 0; i < served.n; i++) {
		const char *m = served.v[i];
		size_t l = strlen(m);
		bool part = l > 7 &&
			    (strcmp(m + l - 7, "_bucket") == 0 ||
			     strcmp(m + l - 6, "_count") == 0 || strcmp(m + l - 4, "_sum") == 0);
		if (!part && !has(&dashboard, m)) {
			char bucket[NAME_LEN + 8];
			snprintf(bucket, sizeof bucket, "%s_bucket", m);
			if (!has(&dashboard, bucket))
				fprintf(stderr, "note: no panel shows %s\n", m);
		}
	}
}

static void test_rules_names_exist(void)
{
	CU_ASSERT_TRUE_FATAL(rules.n > 10);
	CU_ASSERT_FALSE(rules.overflow);
	CU_ASSERT_EQUAL(unknown(&rules, "contrib/prometheus/ledgerflow-rules.yml"), 0);
	/* the alerts the operator's kit promises */
	static const char *const must[] = {"ledgerflow_reconcile_result",
					   "ledgerflow_reconcile_last_success_timestamp_seconds",
					   "ledgerflow_http_responses_total",
					   "ledgerflow_redis_breaker_open",
					   "ledgerflow_db_queue_full_total",
					   "ledgerflow_workers_died_total"};
	for (size_t i = 0; i < LF_COUNT(must); i++)
		CU_ASSERT_TRUE(has(&rules, must[i]));
}

/* The checker itself: a made-up name is caught, a prefix inside a word is
 * not a name. */
static void test_scanner(void)
{
	struct names s = {.n = 0};
	scan(&s, "rate(ledgerflow_nope_total[5m]) + xledgerflow_ignored + ledgerflow_a_b{x=\"1\"}"
		 " \"\\nledgerflow_c\"");
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_TRUE(has(&s, "ledgerflow_c"));
	CU_ASSERT_TRUE(has(&s, "ledgerflow_nope_total"));
	CU_ASSERT_TRUE(has(&s, "ledgerflow_a_b"));
	CU_ASSERT_FALSE(has(&exported, "ledgerflow_nope_total"));
	CU_ASSERT_TRUE(has(&exported, "ledgerflow_request_duration_seconds_bucket"));
	CU_ASSERT_TRUE(has(&exported, "ledgerflow_reconcile_violations"));
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"the scanner", test_scanner},
		{"dashboard: valid JSON, panels and queries", test_dashboard_panels},
		{"dashboard: every metric exists", test_dashboard_names_exist},
		{"rules: every metric exists", test_rules_names_exist},
	};
	static const struct lf_suite suites[] = {
		{"ops_kit", LF_TESTS(tests), .init = suite_init},
	};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
