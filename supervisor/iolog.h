/* Where an instance's stdout and stderr go: the sandbox's stdio log (opened
 * O_APPEND, never proxied) or the container's stdout-stderr-file. */
#ifndef LITHOS_IOLOG_H
#define LITHOS_IOLOG_H

#include "config.h"
#include "instance.h"

/* Open the output fd for an instance; -1 with *err on failure. */
int open_instance_output(const struct master_config *m, const struct instance *in, char **err);
/* Append one "[time][lithos] NAME: message" line to the sandbox's log. */
void stdio_log_line(const struct master_config *m, const struct sandbox_config *s,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
