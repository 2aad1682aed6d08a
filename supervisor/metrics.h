/* Metrics of the supervisor (reference chapter 6) in the cantal format, so
 * existing cantal dashboards keep working, and as a Prometheus textfile.
 *
 * Cantal files, for base = "<dir>/<name>" (CANTAL_PATH):
 *   <base>.values  packed 8-byte host-order integers, value i at offset 8*i
 *                  (u64 counters, i64 levels), zero padded to a multiple of
 *                  4096 bytes, mmapped MAP_SHARED: a write through a pointer
 *                  is what readers see, no system call involved;
 *   <base>.meta    one line per value, in the same order:
 *                    counter 8: {"group":"containers","metric":"started"}
 *                    level 8 signed: {"group":"master","metric":"queue"}
 *                  (JSON keys sorted, no spaces).
 * Both are built under <base>.tmp and renamed into place, values first.
 *
 * Typical use (single-threaded):
 *
 *   m = metrics_new(cantal_path, prom_path, &err);  // counters of an earlier
 *                                                   // tree carried over
 *   restarts = metrics_counter(m, "master", "restarts");
 *   queue = metrics_level(m, "master", "queue");
 *   started = metrics_counter(m, "processes.SANDBOX.PROC", "started"); ...
 *   metrics_commit(m, &err);                        // files published
 *   ++*restarts; *queue = n;                        // live for readers
 *   metrics_write_prometheus(m, &err);              // now and then
 *
 * After a config reload: register the COMPLETE new set again (master and
 * containers too), then commit.  The first registration after a commit starts
 * a new set; the next commit lays the files out for exactly that set, keeping
 * the values of names that are in both (counters and levels; increments made
 * through the old pointers meanwhile are kept as well), and drops the rest.
 * From then on only the new pointers are valid: the old mapping is gone.
 */
#ifndef LITHOS_METRICS_H
#define LITHOS_METRICS_H

#include <stdint.h>

struct metrics;

/* base: "<dir>/<name>" as CANTAL_PATH gives it (files <base>.values and
 * <base>.meta); prom: path of a Prometheus textfile, NULL for none.
 * Counters found in an existing <base>.values + <base>.meta pair under the
 * same group and metric start from their old value (a re-exec of the tree
 * keeps them); levels start at 0.  Unreadable or foreign old files are
 * ignored.  Touches no file.  NULL with *err only for an unusable argument. */
struct metrics *metrics_new(const char *base, const char *prom, char **err);

/* Register a metric of the next commit; group e.g. "master", "containers",
 * "processes.SANDBOX.PROC"; metric e.g. "started".  The pointer is usable at
 * once (its value starts as described above) and, after metrics_commit(),
 * points into the shared mapping.  Registering a name again in the same set
 * returns the same pointer.  NULL only for a name already registered in this
 * set with the other kind, an empty name, or more than a million metrics. */
uint64_t *metrics_counter(struct metrics *m, const char *group, const char *metric);
int64_t *metrics_level(struct metrics *m, const char *group, const char *metric);

/* Create or replace the files: <base>.tmp sized and mmapped, renamed to
 * <base>.values, then the meta written to <base>.tmp and renamed to
 * <base>.meta.  0 on success.  -1 with *err otherwise; whatever the result,
 * the pointers of the latest registrations are the ones to use afterwards
 * (they stay valid and keep their values), and calling metrics_commit()
 * again later, with or without new registrations, retries publishing
 * (registrations after a failed commit join the set that failed, so a name
 * left out of them is only dropped by a later successful commit).
 * Without registrations since the last commit it rewrites the files of the
 * current set (same pointers). */
int metrics_commit(struct metrics *m, char **err);

/* Write the committed set to the Prometheus file atomically (tmp + rename):
 *   # TYPE lithos_containers_started_total counter
 *   lithos_containers_started_total{} 5
 *   # TYPE lithos_processes_running gauge
 *   lithos_processes_running{sandbox="S",process="P"} 1
 * Counters get _total and TYPE counter, levels TYPE gauge; a group
 * "processes.S.P" gives the labels sandbox and process, any other group is
 * part of the name (characters outside [A-Za-z0-9_] become '_').  Families
 * sorted by name.  0 and nothing done without a prom path; -1 with *err. */
int metrics_write_prometheus(struct metrics *m, char **err);

/* Unmap and free; the files stay (a new tree carries the counters over). */
void metrics_free(struct metrics *m);

#endif
