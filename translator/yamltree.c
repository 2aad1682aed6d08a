#include "yamltree.h"
#include "sources.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

/* ---- arena ---- */

struct yarena {
	struct yarena *next;
	size_t used, cap;
	_Alignas(max_align_t) char data[];
};

static void *arena_alloc(struct ydoc *doc, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct yarena *a = doc->arena;
	if (!a || a->used + n > a->cap) {
		size_t cap = n > 16384 ? n : 16384;
		struct yarena *b = xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->used = 0;
		b->next = a;
		doc->arena = b;
		a = b;
	}
	void *p = a->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

static char *arena_strndup(struct ydoc *doc, const char *s, size_t n)
{
	char *p = arena_alloc(doc, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void ydoc_free(struct ydoc *doc)
{
	struct yarena *a = doc->arena;
	while (a) {
		struct yarena *next = a->next;
		free(a);
		a = next;
	}
	free(doc->file);
	memset(doc, 0, sizeof(*doc));
}

/* ---- building ---- */

struct anchor {
	char *name;
	struct ynode *node;
};

/* A container node under construction. */
struct frame {
	struct ynode *node;
	struct ynode **items; /* seq items or alternating key/value for maps */
	size_t n, cap;
	/* merge sources of a mapping, in order */
	struct ynode **merges;
	size_t n_merges;
	char *anchor;
};

struct builder {
	struct ydoc *doc;
	struct diags *d;
	struct frame *stack;
	size_t depth, cap;
	/* open-addressing hash table (power-of-two size, at most half full):
	 * a linear list made many anchors and aliases quadratic */
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t nodes;        /* nodes so far, aliases expanded: an upper bound of
				the root's `expanded`, to stop before building it */
	bool failed;
};

static void berr(struct builder *b, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void berr(struct builder *b, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(b->d, b->doc->file, line, col, fmt, ap);
	va_end(ap);
	b->failed = true;
}

static size_t sat_add(size_t a, size_t b)
{
	size_t s = a + b;
	return (s < a || s > YAML_MAX_EXPANDED + 1) ? YAML_MAX_EXPANDED + 1 : s;
}

/* Count `k` more nodes; false (after an error) once over the limit. */
static bool count_nodes(struct builder *b, size_t k, const yaml_mark_t *m)
{
	b->nodes = sat_add(b->nodes, k);
	if (b->nodes <= YAML_MAX_EXPANDED)
		return true;
	berr(b, (int)m->line + 1, (int)m->column + 1,
	     "document too large once aliases are expanded (more than %u nodes); expected a config of reasonable size",
	     YAML_MAX_EXPANDED);
	return false;
}

static void frame_push_item(struct frame *f, struct ynode *n)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
	}
	f->items[f->n++] = n;
}

static size_t anchor_hash(const char *s)
{
	size_t h = 14695981039346656037ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot of `name`: its entry, or the empty slot where it would go. */
static struct anchor *anchor_slot(struct anchor *tab, size_t cap, const char *name)
{
	size_t i = anchor_hash(name) & (cap - 1);
	while (tab[i].name && strcmp(tab[i].name, name) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static struct ynode *find_anchor(struct builder *b, const char *name)
{
	if (!b->cap_anchors)
		return NULL;
	return anchor_slot(b->anchors, b->cap_anchors, name)->node;
}

static void set_anchor(struct builder *b, const char *name, struct ynode *n)
{
	if (!name)
		return;
	if (2 * (b->n_anchors + 1) > b->cap_anchors) {
		size_t cap = b->cap_anchors ? 2 * b->cap_anchors : 64;
		struct anchor *tab = xcalloc(cap, sizeof(*tab));
		for (size_t i = 0; i < b->cap_anchors; i++)
			if (b->anchors[i].name)
				*anchor_slot(tab, cap, b->anchors[i].name) = b->anchors[i];
		free(b->anchors);
		b->anchors = tab;
		b->cap_anchors = cap;
	}
	/* Later definitions of the same anchor name win, as in YAML. */
	struct anchor *a = anchor_slot(b->anchors, b->cap_anchors, name);
	if (!a->name) {
		a->name = xstrdup(name);
		b->n_anchors++;
	}
	a->node = n;
}

static bool is_merge_key(const struct ynode *k)
{
	return k->kind == YN_SCALAR && k->plain && !k->tag && strcmp(k->value, "<<") == 0;
}

/* Attach a finished node to its parent (or make it the root). */
static void attach(struct builder *b, struct ynode *n)
{
	if (b->depth == 0) {
		if (b->doc->root)
			berr(b, n->line, n->col, "expected a single YAML document, found a second one");
		else
			b->doc->root = n;
		return;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (f->node->kind == YN_MAP && f->n % 2 == 1 && is_merge_key(f->items[f->n - 1])) {
		/* value of a `<<` key: a mapping or a list of mappings */
		f->n--; /* drop the `<<` key */
		if (n->kind == YN_MAP) {
			VEC_PUSH(f->merges, f->n_merges, n);
		} else if (n->kind == YN_SEQ) {
			for (size_t i = 0; i < n->n_items; i++) {
				if (n->items[i]->kind != YN_MAP) {
					berr(b, n->items[i]->line, n->items[i]->col,
					     "merge key `<<`: expected a mapping to merge, got a %s",
					     ynode_kind_name(n->items[i]));
					continue;
				}
				VEC_PUSH(f->merges, f->n_merges, n->items[i]);
			}
		} else {
			berr(b, n->line, n->col,
			     "merge key `<<`: expected a mapping or a list of mappings, got a scalar");
		}
		return;
	}
	if (f->node->kind == YN_MAP && f->n % 2 == 0 && n->kind != YN_SCALAR) {
		berr(b, n->line, n->col, "expected a scalar as mapping key, got a %s",
		     ynode_kind_name(n));
		/* keep it so that pairs stay aligned */
	}
	frame_push_item(f, n);
}

static struct ynode *new_node(struct builder *b, enum ynode_kind kind,
			      const yaml_mark_t *mark, const yaml_char_t *tag)
{
	struct ynode *n = arena_alloc(b->doc, sizeof(*n));
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	n->expanded = 1;
	if (tag) {
		const char *t = (const char *)tag;
		/* libyaml resolves the `!` handle to "!" itself; the standard
		 * secondary handle `!!` becomes tag:yaml.org,2002: */
		n->tag = arena_strndup(b->doc, t, strlen(t));
	}
	return n;
}

static void push_frame(struct builder *b, struct ynode *n, const yaml_char_t *anchor)
{
	if (b->depth == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->stack = xrealloc(b->stack, b->cap * sizeof(*b->stack));
	}
	struct frame *f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	f->anchor = anchor ? xstrdup((const char *)anchor) : NULL;
}

static int key_cmp_str(const struct ynode *a, const struct ynode *b)
{
	if (a->kind != YN_SCALAR || b->kind != YN_SCALAR)
		return a->kind != YN_SCALAR ? (b->kind != YN_SCALAR ? 0 : 1) : -1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->value, b->value, a->len);
}

struct sorted_pair {
	struct ypair p;
	size_t order;
};

static int sorted_pair_cmp(const void *x, const void *y)
{
	const struct sorted_pair *a = x, *b = y;
	int c = key_cmp_str(a->p.key, b->p.key);
	if (c)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int order_cmp(const void *x, const void *y)
{
	const struct sorted_pair *a = x, *b = y;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void finish_map(struct builder *b, struct frame *f)
{
	struct ynode *n = f->node;
	size_t explicit = f->n / 2;
	/* `<<: [*a, *a, ...]` costs |a| per alias before duplicates are
	 * dropped; count_nodes() bounds that by the expanded size */
	size_t total = explicit;
	for (size_t i = 0; i < f->n_merges; i++)
		total += f->merges[i]->n_pairs;
	struct sorted_pair *sp = xcalloc(total ? total : 1, sizeof(*sp));
	size_t k = 0;
	for (size_t i = 0; i < explicit; i++, k++) {
		sp[k].p.key = f->items[2 * i];
		sp[k].p.value = f->items[2 * i + 1];
		sp[k].order = k;
	}
	for (size_t m = 0; m < f->n_merges; m++) {
		for (size_t i = 0; i < f->merges[m]->n_pairs; i++, k++) {
			sp[k].p = f->merges[m]->pairs[i];
			sp[k].p.merged = true;
			sp[k].order = k;
		}
	}
	size_t keep = total;
	if (f->n_merges) {
		/* Drop merged pairs whose key is already present (explicit keys
		 * come first in `order`, then earlier merges). */
		qsort(sp, total, sizeof(*sp), sorted_pair_cmp);
		size_t w = 0;
		for (size_t i = 0; i < total; i++) {
			if (sp[i].p.merged && w > 0 &&
			    key_cmp_str(sp[w - 1].p.key, sp[i].p.key) == 0)
				continue;
			sp[w++] = sp[i];
		}
		keep = w;
		qsort(sp, keep, sizeof(*sp), order_cmp);
	}
	n->pairs = arena_alloc(b->doc, (keep ? keep : 1) * sizeof(*n->pairs));
	n->n_pairs = keep;
	size_t exp = 1;
	for (size_t i = 0; i < keep; i++) {
		n->pairs[i] = sp[i].p;
		exp = sat_add(exp, sp[i].p.key->expanded);
		exp = sat_add(exp, sp[i].p.value->expanded);
	}
	n->expanded = exp;
	free(sp);
}

static void finish_seq(struct builder *b, struct frame *f)
{
	struct ynode *n = f->node;
	n->items = arena_alloc(b->doc, (f->n ? f->n : 1) * sizeof(*n->items));
	n->n_items = f->n;
	size_t exp = 1;
	for (size_t i = 0; i < f->n; i++) {
		n->items[i] = f->items[i];
		exp = sat_add(exp, f->items[i]->expanded);
	}
	n->expanded = exp;
}

static void pop_frame(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	if (f->node->kind == YN_MAP) {
		if (f->n % 2)
			f->n--; /* unbalanced after an error */
		finish_map(b, f);
	} else {
		finish_seq(b, f);
	}
	struct ynode *n = f->node;
	set_anchor(b, f->anchor, n);
	free(f->anchor);
	free(f->items);
	free(f->merges);
	if (n->expanded > YAML_MAX_EXPANDED) {
		berr(b, n->line, n->col,
		     "document too large once aliases are expanded (more than %u nodes); expected a config of reasonable size",
		     YAML_MAX_EXPANDED);
	}
	attach(b, n);
}

/* Line and column (1-based, in characters as libyaml counts them) of a byte
 * offset: reader errors (bad UTF-8, control characters) give only that. */
static void offset_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3) ? 3 : 0; /* BOM */
	*line = 1;
	*col = 1;
	for (; i < off && i < len; i++) {
		if (p[i] == '\n' || (p[i] == '\r' && (i + 1 >= len || p[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if ((p[i] & 0xc0) != 0x80 && p[i] != '\r') {
			(*col)++; /* not a UTF-8 continuation byte */
		}
	}
}

static const char *yaml_problem(const yaml_parser_t *p)
{
	return p->problem ? p->problem : "syntax error";
}

int ydoc_load_buffer(struct ydoc *doc, const char *name, const char *buf,
		     size_t len, struct diags *d)
{
	memset(doc, 0, sizeof(*doc));
	doc->file = xstrdup(name);
	if (len > YAML_MAX_FILE_SIZE) {
		diag_add(d, name, 0, 0, "file is %zu bytes; expected a config of at most %u bytes",
			 len, YAML_MAX_FILE_SIZE);
		return -1;
	}
	if (memchr(buf, 0, len)) {
		const char *z = memchr(buf, 0, len);
		int line = 1, col = 1;
		for (const char *p = buf; p < z; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		diag_add(d, name, line, col, "NUL byte in file; expected UTF-8 YAML text");
		return -1;
	}

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		diag_add(d, name, 0, 0, "cannot initialize the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	struct builder b = { .doc = doc, .d = d };
	int docs = 0;
	bool done = false;
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			int line = (int)parser.problem_mark.line + 1;
			int col = (int)parser.problem_mark.column + 1;
			if (parser.error == YAML_READER_ERROR)
				offset_pos(buf, len, parser.problem_offset, &line, &col);
			if (parser.error == YAML_MEMORY_ERROR) {
				berr(&b, line, col, "out of memory while parsing");
			} else if (parser.context) {
				berr(&b, line, col, "invalid YAML: %s %s (line %d, column %d); expected valid YAML",
				     yaml_problem(&parser), parser.context,
				     (int)parser.context_mark.line + 1,
				     (int)parser.context_mark.column + 1);
			} else {
				berr(&b, line, col, "invalid YAML: %s; expected valid YAML",
				     yaml_problem(&parser));
			}
			break;
		}
		const yaml_mark_t *m = &ev.start_mark;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				berr(&b, (int)m->line + 1, (int)m->column + 1,
				     "expected a single YAML document, found a second one");
				done = true;
			}
			break;
		case YAML_SCALAR_EVENT: {
			struct ynode *n = new_node(&b, YN_SCALAR, m, ev.data.scalar.tag);
			n->value = arena_strndup(doc, (const char *)ev.data.scalar.value,
						 ev.data.scalar.length);
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			/* every 16 bytes of text count as a node, so that aliases
			 * to a long string can't expand into gigabytes */
			n->expanded = 1 + n->len / 16;
			if (memchr(n->value, 0, n->len))
				berr(&b, n->line, n->col,
				     "NUL character (\\0) in a scalar; expected text without NUL");
			if (!count_nodes(&b, n->expanded, m)) {
				done = true;
				break;
			}
			if (ev.data.scalar.anchor)
				set_anchor(&b, (const char *)ev.data.scalar.anchor, n);
			attach(&b, n);
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			if (b.depth >= YAML_MAX_DEPTH) {
				berr(&b, (int)m->line + 1, (int)m->column + 1,
				     "nesting deeper than %d levels; expected a config of reasonable depth",
				     YAML_MAX_DEPTH);
				done = true;
				break;
			}
			bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
			struct ynode *n = new_node(&b, seq ? YN_SEQ : YN_MAP, m,
						   seq ? ev.data.sequence_start.tag
						       : ev.data.mapping_start.tag);
			push_frame(&b, n, seq ? ev.data.sequence_start.anchor
					      : ev.data.mapping_start.anchor);
			if (!count_nodes(&b, 1, m))
				done = true;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b.depth > 0)
				pop_frame(&b);
			break;
		case YAML_ALIAS_EVENT: {
			const char *aname = (const char *)ev.data.alias.anchor;
			struct ynode *target = find_anchor(&b, aname);
			if (!target) {
				/* libyaml does not check this; an anchor still
				 * being built (recursive alias) is not defined yet */
				berr(&b, (int)m->line + 1, (int)m->column + 1,
				     "alias *%s refers to no anchor defined before it", aname);
				done = true;
				break;
			}
			if (!count_nodes(&b, target->expanded, m)) {
				done = true;
				break;
			}
			attach(&b, target);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (b.failed && diags_count(d) >= DIAGS_MAX)
			done = true;
	}
	/* unwind frames left open after an error */
	while (b.depth > 0) {
		struct frame *f = &b.stack[--b.depth];
		free(f->anchor);
		free(f->items);
		free(f->merges);
	}
	free(b.stack);
	for (size_t i = 0; i < b.cap_anchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	yaml_parser_delete(&parser);
	if (b.failed) {
		doc->root = NULL;
		return -1;
	}
	return 0;
}

int ydoc_load_file(struct ydoc *doc, const char *path, struct diags *d)
{
	size_t len = 0;
	const struct srcfile *kept = sources_lookup(path);
	if (kept && !kept->absent) {
		sources_note(path, kept->data, kept->len);
		return ydoc_load_buffer(doc, path, kept->data, kept->len, d);
	}
	char *buf = NULL;
	if (kept)
		errno = ENOENT;
	else
		buf = read_file_limited(path, YAML_MAX_FILE_SIZE, &len);
	if (buf)
		sources_note(path, buf, len);
	else if (errno == ENOENT)
		sources_note(path, NULL, 0);
	if (!buf) {
		memset(doc, 0, sizeof(*doc));
		doc->file = xstrdup(path);
		if (errno == EFBIG)
			diag_add(d, path, 0, 0, "file is larger than %u bytes; expected a config of reasonable size",
				 YAML_MAX_FILE_SIZE);
		else if (errno == EISDIR)
			diag_add(d, path, 0, 0, "is a directory; expected a YAML file");
		else if (errno == EINVAL)
			diag_add(d, path, 0, 0, "is not a regular file; expected a YAML file");
		else
			diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	int r = ydoc_load_buffer(doc, path, buf, len, d);
	free(buf);
	return r;
}

bool ynode_is_null(const struct ynode *n)
{
	if (!n)
		return true;
	if (n->kind != YN_SCALAR || !n->plain)
		return false;
	if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:null") != 0)
		return false;
	const char *v = n->value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

const char *ynode_kind_name(const struct ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YN_SCALAR:
		return ynode_is_null(n) ? "null" : "scalar";
	case YN_SEQ:
		return "list";
	case YN_MAP:
		return "mapping";
	}
	return "node";
}
