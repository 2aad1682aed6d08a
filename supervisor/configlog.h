/* The config log: config-log-dir/SANDBOX.log, one line of JSON per started
 * instance, written by the tree and read back by lithos_clean (which keeps
 * the images of recent configs) and by operators who want to know what ran
 * when.
 *
 * A record is one line:
 *
 *   {"time":"2025-01-31T12:00:00Z","instance":"web/app.0","process":"app",
 *    "kind":"Daemon","image":"app/v2","config":"/config/app.yaml",
 *    "instances":2,"variables":{"port":"8080"},"ip-addresses":[],
 *    "extra-secrets-namespaces":[]}
 *
 * (on one line).  Only the process entry goes in: image, config, kind,
 * instances, variables, ip-addresses, extra-secrets-namespaces; never the
 * container config and never a secret value.
 *
 * The reader also accepts the lines lithos itself wrote
 * ("2018-01-31T12:00:00Z {\"NAME\": {PROCESS ENTRY}, ...}", one snapshot
 * of the whole processes config per line), so a host moving from lithos keeps
 * its history.
 */
#ifndef LITHOS_CONFIGLOG_H
#define LITHOS_CONFIGLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"

/* A log file is rotated when a record would start past this size:
 * SANDBOX.log -> SANDBOX.log.1 -> ... -> SANDBOX.log.CONFIGLOG_KEEP (dropped). */
#define CONFIGLOG_MAX_SIZE (10u << 20)
#define CONFIGLOG_KEEP 5
/* A record identical (but for its time) to the last one this process wrote
 * for the same instance is skipped when that one is younger than this, so a
 * crash-looping instance does not push the history out of the rotation. */
#define CONFIGLOG_REPEAT_SECONDS 3600

/* Append one record to <config-log-dir>/<sandbox>.log: a line with an
 * ISO-8601 UTC timestamp, the instance name, the image and the full
 * process-entry config, as one line of JSON (keys: "time", "instance",
 * "process", "kind", "image", "config", "instances", "variables",
 * "ip-addresses", "extra-secrets-namespaces"); no-op when config_log_dir is
 * NULL.  Creates the dir, rotates the file (see above), writes the line with
 * one write() on an O_APPEND descriptor.  Never includes secret values (it
 * only gets the process entry's image/config/variables).  Not thread-safe
 * (it remembers the last record per instance).  Returns 0, or -1 with a
 * message in *err (caller frees). */
int configlog_record(const struct master_config *m, const struct sandbox_config *s,
		     const struct process_entry *e, const char *instance_name, char **err);
/* The same with the time given (tests). */
int configlog_record_at(const struct master_config *m, const struct sandbox_config *s,
			const struct process_entry *e, const char *instance_name, time_t now,
			char **err);

/* ---- reading ---- */

struct configlog_entry {
	time_t time;
	char *instance;        /* NULL in lithos's own snapshot lines */
	char *process;         /* process name */
	char *image;
	size_t seq;            /* position in the history, oldest first */
};

struct configlog_history {
	struct configlog_entry *v;
	size_t n;
	size_t broken;         /* lines that could not be read */
	char *first_broken;    /* "FILE:LINE: why" of the first of them */
	size_t files;          /* log files read */
};

/* Read <dir>/<sandbox>.log and its rotations (SANDBOX.log.N, the highest N
 * being the oldest), oldest first.  A missing log is an empty history.
 * Returns 0, or -1 with *err when a file exists but cannot be read. */
int configlog_read(const char *dir, const char *sandbox, struct configlog_history *h,
		   char **err);
void configlog_history_free(struct configlog_history *h);

/* "YYYY-MM-DDTHH:MM:SSZ" <-> time_t (UTC).  Parse returns -1 on bad input. */
void configlog_format_time(time_t t, char out[32]);
int configlog_parse_time(const char *s, time_t *out);

#endif
