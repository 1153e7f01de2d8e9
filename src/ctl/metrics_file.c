/*
 * ctl/metrics_file.c - the Prometheus textfile-collector files written by
 * `ledgerflowctl reconcile --metrics-file` and `anchor --metrics-file`.
 * A file is replaced atomically (written to FILE.tmp, then renamed over
 * FILE), so the node exporter never reads half of one. Reconcile's file
 * says how the last run ended and when the last clean run ended; a run
 * that is not clean carries that time over from the file it replaces, so
 * an alert can ask both "is it failing?" and "how long since the books
 * were last seen to hold?" (contrib/prometheus/ledgerflow-rules.yml).
 */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile_int.h"

bool rc_metrics_write(const char *path, const char *text, const char *who, FILE *out)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	bool ok = n > 0 && (size_t)n < sizeof tmp;
	FILE *f = ok ? fopen(tmp, "w") : NULL;
	ok = f && fputs(text, f) >= 0;
	if (f)
		ok = fclose(f) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		fprintf(out, "%s: cannot write %s\n", who, path);
		if (f)
			remove(tmp);
	}
	return ok;
}

#define LAST_SUCCESS "ledgerflow_reconcile_last_success_timestamp_seconds"

/* The last clean run's time in the file we are about to replace; 0 when
 * there is none (no file, or no such line). */
static int64_t previous_success(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[256];
	int64_t t = 0;
	for (int lines = 0; lines < 64 && fgets(line, sizeof line, f); lines++) {
		if (strncmp(line, LAST_SUCCESS " ", sizeof LAST_SUCCESS) != 0)
			continue;
		char *end;
		long long v = strtoll(line + sizeof LAST_SUCCESS, &end, 10);
		if (end != line + sizeof LAST_SUCCESS && v > 0)
			t = v;
		break;
	}
	fclose(f);
	return t;
}

bool rc_metrics_reconcile(const char *path, int result, uint64_t violations, int64_t now, FILE *out)
{
	int64_t success = result == 0 ? now : previous_success(path);
	char text[1536];
	int n = snprintf(
		text, sizeof text,
		"# HELP ledgerflow_reconcile_last_run_timestamp_seconds End of the last "
		"ledgerflowctl reconcile run.\n"
		"# TYPE ledgerflow_reconcile_last_run_timestamp_seconds gauge\n"
		"ledgerflow_reconcile_last_run_timestamp_seconds %" PRId64 "\n"
		"# HELP ledgerflow_reconcile_result Exit status of the last reconcile run: 0 the "
		"books hold, 1 they do not, 2 an error.\n"
		"# TYPE ledgerflow_reconcile_result gauge\n"
		"ledgerflow_reconcile_result %d\n"
		"# HELP ledgerflow_reconcile_violations Violations the last reconcile run found.\n"
		"# TYPE ledgerflow_reconcile_violations gauge\n"
		"ledgerflow_reconcile_violations %" PRIu64 "\n"
		"# HELP " LAST_SUCCESS " End of the last reconcile run that found the books "
		"holding (0: none yet).\n"
		"# TYPE " LAST_SUCCESS " gauge\n" LAST_SUCCESS " %" PRId64 "\n",
		now, result, violations, success);
	assert(n > 0 && (size_t)n < sizeof text);
	return rc_metrics_write(path, text, "reconcile", out);
}
