#include "cmdload.h"
#include "decode.h"
#include "paths.h"
#include "util.h"
#include "validate.h"

#include <string.h>

int entry_load(struct entry_load *el, const char *master_path, const char *sandbox,
	       const char *name, struct diags *d)
{
	memset(el, 0, sizeof(*el));
	size_t before = diags_count(d);
	if (master_config_parse(&el->master, master_path ? master_path : "/etc/lithos/master.yaml",
				d) < 0)
		return -1;
	if (!valid_name(sandbox)) {
		diag_add(d, "<command line>", 0, 0,
			 "sandbox name \"%s\" is not valid; expected letters, digits, _ and -", sandbox);
		return -1;
	}
	char *spath = xasprintf("%s/%s.yaml", el->master.sandboxes_dir, sandbox);
	int r = sandbox_config_parse(&el->sandbox, sandbox, spath, d);
	free(spath);
	if (r < 0)
		return -1;
	if (el->sandbox.config_file)
		el->processes_file = path_join(el->master.processes_dir, el->sandbox.config_file);
	else
		el->processes_file = xasprintf("%s/%s.yaml", el->master.processes_dir, sandbox);
	if (processes_config_parse(&el->procs, el->processes_file, d) < 0)
		return -1;
	for (size_t i = 0; i < el->procs.n; i++)
		if (!strcmp(el->procs.v[i].name, name))
			el->entry = &el->procs.v[i];
	if (!el->entry) {
		diag_add(d, el->processes_file, 0, 0, "no process named %s; expected one of the entries of this file",
			 name);
		return -1;
	}
	validate_entry(&el->sandbox, el->entry, el->processes_file, d);
	if (load_container_config(&el->sandbox, el->entry, el->processes_file, &el->cc,
				  &el->image_root, d) < 0)
		return -1;
	validate_container(&el->sandbox, el->entry, el->processes_file, &el->cc, d);
	return diags_count(d) > before ? -1 : 0;
}

void entry_load_free(struct entry_load *el)
{
	container_config_free(&el->cc);
	processes_config_free(&el->procs);
	sandbox_config_free(&el->sandbox);
	master_config_free(&el->master);
	free(el->image_root);
	free(el->processes_file);
	memset(el, 0, sizeof(*el));
}
