#include "setup.h"
#include "decode.h"
#include "instance.h"
#include "paths.h"
#include "util.h"
#include "validate.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted NAME list of NAME.yaml files in dir. */
static char **list_yaml(const char *dir, size_t *n, struct diags *d)
{
	*n = 0;
	DIR *dh = opendir(dir);
	if (!dh) {
		if (errno != ENOENT)
			diag_add(d, dir, 0, 0, "cannot read directory: %s", strerror(errno));
		return NULL;
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		char *name = xstrndup(de->d_name, len - 5);
		VEC_PUSH(names, *n, name);
	}
	closedir(dh);
	if (*n)
		qsort(names, *n, sizeof(*names), str_cmp);
	return names;
}

/* A sandbox's sources start with the master config the load used. */
static void copy_master(const struct lithos_setup *st, struct srcset *to)
{
	for (size_t i = 0; i < st->master_sources.n; i++) {
		const struct srcfile *f = &st->master_sources.v[i];
		srcset_add(to, f->path, f->absent ? NULL : f->data, f->len);
	}
}

static void load_sandbox(struct lithos_setup *st, struct loaded_sandbox *sb, const char *name,
			 const struct setup_options *opt, struct diags *d)
{
	char *path = xasprintf("%s/%s.yaml", st->master.sandboxes_dir, name);
	if (!valid_name(name)) {
		diag_add(d, path, 0, 0,
			 "sandbox name \"%s\" is not valid; expected a file name of letters, digits, _ and - with .yaml",
			 name);
		sb->cfg.name = xstrdup(name);
		free(path);
		return;
	}
	sb->cfg_ok = sandbox_config_parse(&sb->cfg, name, path, d) == 0;
	free(path);
	if (!sb->cfg_ok)
		return;

	if (opt->alternate_processes && opt->only_sandbox && !strcmp(opt->only_sandbox, name))
		sb->processes_file = xstrdup(opt->alternate_processes);
	else if (sb->cfg.config_file)
		sb->processes_file = path_join(st->master.processes_dir, sb->cfg.config_file);
	else
		sb->processes_file = xasprintf("%s/%s.yaml", st->master.processes_dir, name);

	struct stat stb;
	const struct srcfile *kept = sources_lookup(sb->processes_file);
	bool missing = kept ? kept->absent : stat(sb->processes_file, &stb) < 0 && errno == ENOENT;
	if (missing && !(opt->alternate_processes && opt->only_sandbox && !strcmp(opt->only_sandbox, name))) {
		sources_note(sb->processes_file, NULL, 0);
		/* no processes file: the sandbox runs nothing */
		sb->procs.file = xstrdup(sb->processes_file);
		return;
	}
	sb->processes_present = true;
	if (processes_config_parse(&sb->procs, sb->processes_file, d) < 0 && !sb->procs.n)
		return;

	sb->entries = xcalloc(sb->procs.n, sizeof(*sb->entries));
	sb->n_entries = sb->procs.n;
	for (size_t i = 0; i < sb->procs.n; i++) {
		struct loaded_entry *le = &sb->entries[i];
		le->entry = &sb->procs.v[i];
		if (!le->entry->image || !le->entry->config)
			continue; /* reported while parsing */
		size_t before = diags_count(d);
		validate_entry(&sb->cfg, le->entry, sb->processes_file, d);
		if (opt->skip_containers) {
			validate_image_name(&sb->cfg, le->entry, sb->processes_file, d);
			le->valid = diags_count(d) == before;
			continue;
		}
		if (load_container_config_cached(&sb->cfg, le->entry, sb->processes_file, st->ccs,
						 &le->cc, &le->image_root, d) == 0) {
			le->loaded = true;
			if (validate_container(&sb->cfg, le->entry, sb->processes_file, le->cc, d)) {
				/* substitution and systemd expansion problems */
				struct instance in;
				instance_build(&in, &sb->cfg, le->entry, le->cc, le->image_root, 0,
					       0, NULL, 0, d);
				instance_free(&in);
			}
		}
		le->valid = le->loaded && diags_count(d) == before;
	}

	/* an address belongs to one instance only */
	if (sb->cfg.bridged_network) {
		for (size_t i = 0; i < sb->procs.n; i++) {
			const struct process_entry *a = &sb->procs.v[i];
			for (size_t ai = 0; ai < a->ip_addresses.n; ai++) {
				for (size_t j = 0; j < i; j++) {
					const struct process_entry *b = &sb->procs.v[j];
					for (size_t bi = 0; bi < b->ip_addresses.n; bi++) {
						if (strcmp(a->ip_addresses.v[ai], b->ip_addresses.v[bi]))
							continue;
						diag_add(d, sb->processes_file, a->ip_addresses.pos[ai].line,
							 a->ip_addresses.pos[ai].col,
							 "ip-addresses: %s is already used by process %s; expected each address once per sandbox",
							 a->ip_addresses.v[ai], b->name);
						sb->entries[i].valid = false;
					}
				}
			}
		}
	}
}

int setup_load(struct lithos_setup *st, const struct setup_options *opt, struct diags *d)
{
	memset(st, 0, sizeof(*st));
	st->ccs = xcalloc(1, sizeof(*st->ccs));
	size_t before = diags_count(d);
	const char *mp = opt->master_path ? opt->master_path : "/etc/lithos/master.yaml";
	if (opt->record_sources)
		sources_use(NULL, &st->master_sources);
	int mr = master_config_parse(&st->master, mp, d);
	sources_use(NULL, NULL);
	if (mr < 0)
		return -1;

	size_t n = 0;
	char **names = list_yaml(st->master.sandboxes_dir, &n, d);
	if (opt->only_sandbox) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= !strcmp(names[i], opt->only_sandbox);
		if (!found)
			diag_add(d, st->master.sandboxes_dir, 0, 0,
				 "no sandbox named %s; expected %s/%s.yaml to exist",
				 opt->only_sandbox, st->master.sandboxes_dir, opt->only_sandbox);
	}
	st->sandboxes = xcalloc(n, sizeof(*st->sandboxes));
	for (size_t i = 0; i < n; i++) {
		if (opt->only_sandbox && strcmp(names[i], opt->only_sandbox)) {
			free(names[i]);
			continue;
		}
		struct loaded_sandbox *sb = &st->sandboxes[st->n_sandboxes++];
		size_t b0 = diags_count(d);
		if (opt->record_sources) {
			copy_master(st, &sb->sources);
			sources_use(NULL, &sb->sources);
		}
		load_sandbox(st, sb, names[i], opt, d);
		sources_use(NULL, NULL);
		sb->n_problems = diags_count(d) - b0;
		free(names[i]);
	}
	free(names);
	return diags_count(d) > before ? -1 : 0;
}

static void free_sandbox(struct loaded_sandbox *sb)
{
	for (size_t j = 0; j < sb->n_entries; j++)
		free(sb->entries[j].image_root);
	free(sb->entries);
	processes_config_free(&sb->procs);
	sandbox_config_free(&sb->cfg);
	free(sb->processes_file);
	srcset_free(&sb->sources);
	memset(sb, 0, sizeof(*sb));
}

int setup_reload_sandbox(struct lithos_setup *st, size_t i, const struct srcset *from,
			 struct diags *d)
{
	struct loaded_sandbox *sb = &st->sandboxes[i];
	char *name = xstrdup(sb->cfg.name ? sb->cfg.name : "");
	free_sandbox(sb);
	struct setup_options opt = { 0 };
	size_t b0 = diags_count(d);
	copy_master(st, &sb->sources);
	sources_use(from, &sb->sources);
	load_sandbox(st, sb, name, &opt, d);
	sources_use(NULL, NULL);
	sb->n_problems = diags_count(d) - b0;
	free(name);
	return sb->n_problems ? -1 : 0;
}

void setup_free(struct lithos_setup *st)
{
	for (size_t i = 0; i < st->n_sandboxes; i++)
		free_sandbox(&st->sandboxes[i]);
	free(st->sandboxes);
	srcset_free(&st->master_sources);
	if (st->ccs)
		cc_cache_free(st->ccs);
	free(st->ccs);
	master_config_free(&st->master);
	memset(st, 0, sizeof(*st));
}

const struct loaded_sandbox *setup_find_sandbox(const struct lithos_setup *st, const char *name)
{
	for (size_t i = 0; i < st->n_sandboxes; i++)
		if (st->sandboxes[i].cfg.name && !strcmp(st->sandboxes[i].cfg.name, name))
			return &st->sandboxes[i];
	return NULL;
}

const struct loaded_entry *setup_find_entry(const struct loaded_sandbox *sb, const char *name)
{
	for (size_t i = 0; i < sb->n_entries; i++)
		if (!strcmp(sb->entries[i].entry->name, name))
			return &sb->entries[i];
	return NULL;
}
