/* The config files a load read, kept by path: a sandbox's "last good"
 * configs.  The tree records what each sandbox was loaded from, keeps it
 * across a reload (a sealed memfd) and loads a sandbox whose files now have
 * problems from it again; the knot reads its instance's configs from the
 * same bytes, so a restart runs exactly what the tree compiled.
 *
 * While sources_use() is in force, the config readers (ydoc_load_file,
 * load_container_config and the processes-file check of setup_load) take a
 * file from `from` when it is there and record every file they read into
 * `record`.  One load at a time (the tools are single-threaded). */
#ifndef LITHOS_SOURCES_H
#define LITHOS_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

struct srcfile {
	char *path;
	char *data;   /* NUL-terminated copy; NULL when absent */
	size_t len;
	bool absent;  /* the file did not exist (ENOENT) */
};

struct srcset {
	struct srcfile *v;
	size_t n;
};

void srcset_free(struct srcset *s);
const struct srcfile *srcset_find(const struct srcset *s, const char *path);
/* Add (or replace) a file; data NULL means absent. */
void srcset_add(struct srcset *s, const char *path, const char *data, size_t len);
/* Serialized form; equal sets give equal bytes.  Caller frees. */
char *srcset_serialize(const struct srcset *s, size_t *len);
/* Returns 0, or -1 on malformed input (s is then empty). */
int srcset_parse(struct srcset *s, const char *buf, size_t len);
/* A sealed read-only memfd holding the serialized set; -1 on failure. */
int srcset_memfd(const struct srcset *s, const char *name);
/* Read a set back from an fd (from offset 0). */
int srcset_read_fd(struct srcset *s, int fd);

/* Route the config readers through `from` / into `record` (either may be
 * NULL); sources_use(NULL, NULL) ends it. */
void sources_use(const struct srcset *from, struct srcset *record);
/* For the readers: the file at path from the current `from` set; NULL when
 * there is no such set (read the disk); a file that is not in the set reads
 * as absent. */
const struct srcfile *sources_lookup(const char *path);
/* For the readers: remember what was read at path (data NULL: absent). */
void sources_note(const char *path, const char *data, size_t len);

#endif
