/* Typed decoding of YAML nodes, with an error for every problem.
 *
 * Each decoder takes the node, stores the value, and returns true; on bad
 * input it adds "FILE:LINE:COL: <what>: <problem>; expected <...>" and
 * returns false.  `what` names the key being decoded.
 *
 * Fixed-key mappings are decoded through a table of fields (after LXC's
 * config_jump_table): keys match with `-` and `_` alike, unknown and
 * duplicate keys are errors, required keys are checked.
 */
#ifndef LITHOS_DECODE_H
#define LITHOS_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "yamltree.h"

struct dctx {
	const char *file;
	struct diags *d;
};

void derr(struct dctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct pos node_pos(const struct ynode *n);

/* Scalars */
bool dec_string(struct dctx *c, const struct ynode *n, const char *what, char **out);
bool dec_nullable_string(struct dctx *c, const struct ynode *n, const char *what, char **out);
bool dec_abs_path(struct dctx *c, const struct ynode *n, const char *what, char **out);
bool dec_bool(struct dctx *c, const struct ynode *n, const char *what, bool *out);
/* Unsigned integer: 0x/0o/0b prefixes, leading-0 octal, `_` separators,
 * units k ki M Mi G Gi T Ti P Pi E Ei (and lowercase m g t as decimal),
 * optionally after a space.  Value must be <= max. */
bool dec_uint(struct dctx *c, const struct ynode *n, const char *what,
	      uint64_t max, uint64_t *out);
bool dec_u32(struct dctx *c, const struct ynode *n, const char *what, uint32_t *out);
/* Seconds, non-negative, integer or decimal. */
bool dec_seconds(struct dctx *c, const struct ynode *n, const char *what, double *out);
/* Tristate: null (auto), true, false */
bool dec_tristate(struct dctx *c, const struct ynode *n, const char *what, enum tristate *out);
/* Pure number parsing (no YAML): returns NULL on success or a description
 * of what is wrong. */
const char *parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Collections */
bool dec_string_list(struct dctx *c, const struct ynode *n, const char *what, struct strlist *out);
/* Mapping of string -> scalar string, keys unique. */
bool dec_string_map(struct dctx *c, const struct ynode *n, const char *what, struct kvlist *out);
/* [1, 99, 1000-2000] */
bool dec_ranges(struct dctx *c, const struct ynode *n, const char *what, uint64_t max,
		struct ranges *out);
bool dec_idmap(struct dctx *c, const struct ynode *n, const char *what, struct idmap *out);

/* Check keys of a user-keyed mapping for duplicates (keys compared as written).
 * Returns false if any duplicate was reported. */
bool check_unique_keys(struct dctx *c, const struct ynode *map, const char *what);
/* Pairs in document order with merged pairs included. */
bool expect_map(struct dctx *c, const struct ynode *n, const char *what);
bool expect_no_tag(struct dctx *c, const struct ynode *n, const char *what);

/* Table-driven fixed-key mappings */
typedef bool (*field_fn)(struct dctx *c, const struct ynode *value, void *obj);

enum {
	F_REQUIRED = 1,
};

struct field {
	const char *name;      /* canonical, with dashes */
	field_fn decode;
	unsigned flags;
	const char *alias;     /* another accepted spelling, e.g. work-dir */
};

/* Decode a mapping through a table.  A null node is an empty mapping.
 * `what` names the object in messages ("container config").  Returns false
 * if any problem was reported. */
bool dec_fields(struct dctx *c, const struct ynode *map, const struct field *table,
		size_t n_fields, void *obj, const char *what);

/* Shared field decoders */
bool valid_name(const char *s);               /* [A-Za-z0-9_-]+ */
bool valid_secret_namespace(const char *s);   /* ^[a-zA-Z0-9_.-]*$ */
bool dec_namespaces(struct dctx *c, const struct ynode *v, const char *what, struct strlist *out);
bool dec_kind(struct dctx *c, const struct ynode *v, const char *what, bool allow_both,
	      enum proc_kind *out);

/* Normalize a key: `_` -> `-`.  Caller frees. */
char *key_normalize(const char *k);

#endif
