/* A YAML document as a tree of nodes with positions, built from libyaml's
 * event stream.
 *
 * Aliases share the anchored node; merge keys (`<<`) are resolved while the
 * tree is built (pairs from merged maps are flagged `merged` and lose to any
 * explicit key of the same name).  The whole tree lives in one arena.
 *
 * Limits keep hostile input harmless: file size, nesting depth, and the
 * expanded size of the document (the number of nodes a walk that follows
 * every alias would visit), which stops "billion laughs" alias bombs.
 */
#ifndef LITHOS_YAMLTREE_H
#define LITHOS_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define YAML_MAX_FILE_SIZE (8u << 20)     /* 8 MiB */
#define YAML_MAX_DEPTH 128
#define YAML_MAX_EXPANDED 2000000u       /* nodes, aliases expanded */

enum ynode_kind {
	YN_SCALAR,
	YN_SEQ,
	YN_MAP,
};

struct ynode;

struct ypair {
	struct ynode *key;
	struct ynode *value;
	bool merged; /* came from a `<<` merge key */
};

struct ynode {
	enum ynode_kind kind;
	const char *tag;   /* NULL when the node has no explicit tag */
	int line, col;     /* 1-based start position */
	/* scalars */
	const char *value;
	size_t len;
	bool plain;        /* unquoted scalar: subject to null/bool resolution */
	/* sequences */
	struct ynode **items;
	size_t n_items;
	/* mappings */
	struct ypair *pairs;
	size_t n_pairs;
	size_t expanded;   /* nodes under this one with aliases expanded */
};

struct yarena;

struct ydoc {
	char *file;        /* name used in messages */
	struct ynode *root; /* NULL for an empty file */
	struct yarena *arena;
};

/* Parse a file / a buffer.  Returns 0, or -1 with problems added to d.
 * A file with no document gives root == NULL. */
int ydoc_load_file(struct ydoc *doc, const char *path, struct diags *d);
int ydoc_load_buffer(struct ydoc *doc, const char *name, const char *buf,
		     size_t len, struct diags *d);
void ydoc_free(struct ydoc *doc);

/* Null: a plain scalar that is empty, `~`, `null`, `Null` or `NULL`, without a tag. */
bool ynode_is_null(const struct ynode *n);
const char *ynode_kind_name(const struct ynode *n);

#endif
