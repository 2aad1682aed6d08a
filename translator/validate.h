/* Validation of a container config against its sandbox and process entry,
 * and of a process entry against its sandbox, as lithos does it. */
#ifndef LITHOS_VALIDATE_H
#define LITHOS_VALIDATE_H

#include "config.h"

/* The image name of an entry: exactly image-dir-levels components, no
 * `.`/`..`, not absolute, no empty component.  Errors point into the
 * processes file. */
bool validate_image_name(const struct sandbox_config *s, const struct process_entry *e,
			 const char *processes_file, struct diags *d);

/* Read the container config of an entry from its image: the config path
 * must be absolute and is resolved inside the image root (symlinks cannot
 * lead outside it).  On success returns 0, fills cc and, if image_root is
 * not NULL, the image directory. */
int load_container_config(const struct sandbox_config *s, const struct process_entry *e,
			  const char *processes_file, struct container_config *cc,
			  char **image_root, struct diags *d);

/* Container configs parsed once per path and content (lithos_check and the
 * tree load many entries that share a few configs). */
struct cc_cache_entry;
struct cc_cache {
	struct cc_cache_entry **v;
	size_t n;
};
void cc_cache_free(struct cc_cache *c);
/* load_container_config through a cache: *cc points into it (NULL when the
 * file could not be read) and lives until cc_cache_free.  Problems of the
 * file itself are reported again for every entry that uses it. */
int load_container_config_cached(const struct sandbox_config *s, const struct process_entry *e,
				 const char *processes_file, struct cc_cache *cache,
				 const struct container_config **cc, char **image_root,
				 struct diags *d);

/* Every rule between the three configs.  `e` may be NULL (a container
 * config checked alone: only its own rules and variable references). */
bool validate_container(const struct sandbox_config *s, const struct process_entry *e,
			const char *processes_file, const struct container_config *cc,
			struct diags *d);

/* Rules of a process entry against its sandbox that need no container
 * config (kind, ip-addresses). */
bool validate_entry(const struct sandbox_config *s, const struct process_entry *e,
		    const char *processes_file, struct diags *d);

/* Check that every @{...} in s names a declared variable (or a built-in
 * allowed in this place).  `whole_env` allows @{lithos:pid} as the whole
 * value.  Returns NULL or a message (caller frees). */
char *check_references(const char *s, const struct container_config *cc, bool env_value);

/* The entry of a sandbox's readonly-paths/writable-paths whose virtual
 * path is `path` or its longest parent; NULL if none. */
const struct kv *match_virtual(const struct kvlist *l, const char *path);

/* Variable value checks, NULL or a message (caller frees). */
char *check_variable_value(const struct variable *var, const char *value,
			   const struct sandbox_config *s);

#endif
