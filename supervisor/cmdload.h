/* Loading just what one process entry needs (for lithos_cmd and
 * lithos_lxcconf): master, its sandbox, the processes file, the entry and
 * its container config, each validated. */
#ifndef LITHOS_CMDLOAD_H
#define LITHOS_CMDLOAD_H

#include "config.h"

struct entry_load {
	struct master_config master;
	struct sandbox_config sandbox;
	struct processes_config procs;
	const struct process_entry *entry;
	struct container_config cc;
	char *image_root;
	char *processes_file;
};

int entry_load(struct entry_load *el, const char *master_path, const char *sandbox,
	       const char *name, struct diags *d);
void entry_load_free(struct entry_load *el);

#endif
