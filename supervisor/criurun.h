/* The knot's side of checkpoint/restore: restoring an instance from a CRIU
 * checkpoint and waiting for it as for a started one. */
#ifndef LITHOS_CRIURUN_H
#define LITHOS_CRIURUN_H

#include "config.h"
#include "util.h"

#include <stdbool.h>

/* Exit code of the knot when a restore failed (nothing runs). */
#define EXIT_RESTORE_FAILED 123

/* Restore the container NAME from the CRIU images in DIR through liblxc,
 * then wait for it like instance_start_wait does: returns the exit code of
 * its pid 1 (128+N for signal N), or -1 with *err when the restore failed.
 * `result` (may be NULL) gets "ok PID MS" or "error MESSAGE"; `init_file`
 * (may be NULL) gets "PID STARTTIME" of the restored pid 1, as the
 * start-host hook writes it for started containers.  SIGTERM, SIGINT,
 * SIGHUP, SIGUSR1 and SIGUSR2 sent to the caller are forwarded to that
 * pid 1. */
int restore_wait(const char *lxc_path, const char *name, const char *dir, const char *result,
		 const char *init_file, char **err);

#endif
