/* Loading a whole lithos installation: the master config, every sandbox in
 * sandboxes-dir, each sandbox's processes file and every container config
 * an entry points at, all validated.  Used by lithos_check, lithos_switch,
 * lithos_cmd and the tree. */
#ifndef LITHOS_SETUP_H
#define LITHOS_SETUP_H

#include "config.h"
#include "sources.h"
#include "validate.h"

struct loaded_entry {
	struct process_entry *entry;      /* points into procs */
	bool loaded;                      /* container config was read */
	bool valid;                       /* and everything checks out */
	const struct container_config *cc; /* in the setup's cache; NULL if not read */
	char *image_root;
};

struct loaded_sandbox {
	struct sandbox_config cfg;
	bool cfg_ok;
	char *processes_file;
	bool processes_present;
	struct processes_config procs;
	struct loaded_entry *entries;
	size_t n_entries;
	size_t n_problems;                /* diagnostics of this sandbox */
	struct srcset sources;            /* with record_sources: every file
					   * it was loaded from, master too */
};

struct lithos_setup {
	struct master_config master;
	struct loaded_sandbox *sandboxes;
	size_t n_sandboxes;
	struct srcset master_sources;     /* with record_sources */
	struct cc_cache *ccs;             /* container configs, parsed once */
};

struct setup_options {
	const char *master_path;
	const char *only_sandbox;       /* NULL: all */
	const char *alternate_processes; /* with only_sandbox */
	bool skip_containers;           /* don't read container configs */
	bool record_sources;            /* fill each sandbox's sources */
};

/* Returns 0 when everything is valid; -1 with every problem in d.  The
 * setup is filled as far as it could be read either way. */
int setup_load(struct lithos_setup *st, const struct setup_options *opt, struct diags *d);
void setup_free(struct lithos_setup *st);
/* Load sandbox i again, from `from` (its last good sources: files not in
 * the set count as missing), recording into its sources.  Returns 0 when
 * it loaded without problems. */
int setup_reload_sandbox(struct lithos_setup *st, size_t i, const struct srcset *from,
			 struct diags *d);
const struct loaded_sandbox *setup_find_sandbox(const struct lithos_setup *st, const char *name);
const struct loaded_entry *setup_find_entry(const struct loaded_sandbox *sb, const char *name);

#endif
