/* secret-environ at start: decrypt the container's encrypted variables with
 * the sandbox's key, in the namespaces the sandbox and process allow.  The
 * plaintext stays in memory: it is handed to liblxc with set_config_item,
 * never written to the lxc.conf, a log or an error message. */
#ifndef LITHOS_SECRET_ENV_H
#define LITHOS_SECRET_ENV_H

#include "config.h"
#include "instance.h"

/* Fills env with "NAME=value" strings (wipe them with secret_env_free).
 * Returns 0, or -1 with problems naming the variable (never the value). */
int secret_env_decrypt(const struct instance *in, struct strlist *env, struct diags *d);
void secret_env_free(struct strlist *env);

/* LXC trims blanks at the end of lxc.environment lines it reads from the
 * config file: append "NAME=value" for every variable whose value ends
 * with a blank, to be set in memory after the file (the later one wins). */
void exact_env_append(const struct instance *in, struct strlist *env);

#endif
