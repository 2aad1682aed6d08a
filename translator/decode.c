#include "decode.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>

void derr(struct dctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(c->d, c->file, n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
}

struct pos node_pos(const struct ynode *n)
{
	struct pos p = { n ? n->line : 0, n ? n->col : 0 };
	return p;
}

static const char *got(const struct ynode *n)
{
	return ynode_kind_name(n);
}

bool expect_no_tag(struct dctx *c, const struct ynode *n, const char *what)
{
	if (n && n->tag && n->tag[0] == '!' && strncmp(n->tag, "!!", 2) != 0) {
		derr(c, n, "%s: unexpected tag %s; expected a plain value", what, n->tag);
		return false;
	}
	return true;
}

bool expect_map(struct dctx *c, const struct ynode *n, const char *what)
{
	if (!n || n->kind != YN_MAP) {
		derr(c, n, "%s: expected a mapping, got a %s", what, got(n));
		return false;
	}
	return true;
}

static bool scalar_ok(struct dctx *c, const struct ynode *n, const char *what,
		      const char *expected)
{
	if (!n || n->kind != YN_SCALAR) {
		derr(c, n, "%s: expected %s, got a %s", what, expected, got(n));
		return false;
	}
	if (!expect_no_tag(c, n, what))
		return false;
	return true;
}

bool dec_string(struct dctx *c, const struct ynode *n, const char *what, char **out)
{
	if (!scalar_ok(c, n, what, "a string"))
		return false;
	if (ynode_is_null(n)) {
		derr(c, n, "%s: expected a string, got null", what);
		return false;
	}
	free(*out);
	*out = xstrdup(n->value);
	return true;
}

bool dec_nullable_string(struct dctx *c, const struct ynode *n, const char *what, char **out)
{
	if (!scalar_ok(c, n, what, "a string or null"))
		return false;
	free(*out);
	*out = ynode_is_null(n) ? NULL : xstrdup(n->value);
	return true;
}

bool dec_abs_path(struct dctx *c, const struct ynode *n, const char *what, char **out)
{
	if (!scalar_ok(c, n, what, "an absolute path"))
		return false;
	if (ynode_is_null(n) || n->value[0] != '/') {
		derr(c, n, "%s: \"%s\" is not an absolute path; expected a path starting with /",
		     what, n->value);
		return false;
	}
	free(*out);
	*out = xstrdup(n->value);
	return true;
}

bool dec_bool(struct dctx *c, const struct ynode *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	if (!scalar_ok(c, n, what, "true or false"))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(n->value, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(n->value, no[i])) {
			*out = false;
			return true;
		}
	}
	derr(c, n, "%s: \"%s\" is not a boolean; expected true or false", what, n->value);
	return false;
}

bool dec_tristate(struct dctx *c, const struct ynode *n, const char *what, enum tristate *out)
{
	/* the reference writes "auto" as `mount: nil` */
	if (n && n->kind == YN_SCALAR &&
	    (ynode_is_null(n) || (n->plain && !n->tag && !strcmp(n->value, "nil")))) {
		*out = TRI_AUTO;
		return true;
	}
	bool b;
	if (!scalar_ok(c, n, what, "true, false or null"))
		return false;
	static const char *const ok[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON",
					  "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		known |= !strcmp(n->value, ok[i]);
	if (!known) {
		derr(c, n, "%s: \"%s\" is not a boolean; expected true, false or null (auto)",
		     what, n->value);
		return false;
	}
	dec_bool(c, n, what, &b);
	*out = b ? TRI_TRUE : TRI_FALSE;
	return true;
}

static const struct {
	const char *suffix;
	uint64_t mul;
} units[] = {
	{ "ki", 1ULL << 10 }, { "Ki", 1ULL << 10 }, { "Mi", 1ULL << 20 }, { "Gi", 1ULL << 30 },
	{ "Ti", 1ULL << 40 }, { "Pi", 1ULL << 50 }, { "Ei", 1ULL << 60 },
	{ "k", 1000ULL }, { "K", 1000ULL }, { "M", 1000000ULL }, { "m", 1000000ULL },
	{ "G", 1000000000ULL }, { "g", 1000000000ULL }, { "T", 1000000000000ULL },
	{ "t", 1000000000000ULL }, { "P", 1000000000000000ULL }, { "E", 1000000000000000000ULL },
};

const char *parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	const char *p = s;
	if (*p == '+')
		p++;
	if (*p == '-')
		return "negative numbers are not allowed";
	unsigned base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && isdigit((unsigned char)p[1])) {
		base = 8; /* YAML 1.1 octal, e.g. mode: 0755 */
		p += 1;
	}
	uint64_t v = 0;
	int digits = 0;
	bool overflow = false;
	for (; *p; p++) {
		if (*p == '_' && digits > 0)
			continue;
		int dv;
		if (*p >= '0' && *p <= '9')
			dv = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			dv = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			dv = *p - 'A' + 10;
		else
			break;
		if ((unsigned)dv >= base)
			return base == 8 ? "digit out of range for an octal number"
					 : "digit out of range for a binary number";
		if (v > (UINT64_MAX - (uint64_t)dv) / base)
			overflow = true;
		v = v * base + (uint64_t)dv;
		digits++;
	}
	if (!digits)
		return "not a number";
	if (*p == ' ')
		p++;
	if (*p) {
		bool found = false;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			if (!strcmp(p, units[i].suffix)) {
				if (v > UINT64_MAX / units[i].mul)
					overflow = true;
				v *= units[i].mul;
				found = true;
				break;
			}
		}
		if (!found)
			return "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei";
	}
	if (overflow || v > max)
		return "number too large";
	*out = v;
	return NULL;
}

bool dec_uint(struct dctx *c, const struct ynode *n, const char *what, uint64_t max,
	      uint64_t *out)
{
	if (!scalar_ok(c, n, what, "a number"))
		return false;
	const char *err = parse_uint(n->value, max, out);
	if (err) {
		if (!strcmp(err, "number too large"))
			derr(c, n, "%s: \"%s\" is too large; expected a number up to %llu",
			     what, n->value, (unsigned long long)max);
		else
			derr(c, n, "%s: \"%s\": %s; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)",
			     what, n->value, err);
		return false;
	}
	return true;
}

bool dec_u32(struct dctx *c, const struct ynode *n, const char *what, uint32_t *out)
{
	uint64_t v;
	if (!dec_uint(c, n, what, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool dec_seconds(struct dctx *c, const struct ynode *n, const char *what, double *out)
{
	if (!scalar_ok(c, n, what, "a number of seconds"))
		return false;
	char *end;
	errno = 0;
	const char *s = n->value;
	bool ok = *s && !isspace((unsigned char)*s) && *s != '-';
	for (const char *p = s; ok && *p; p++)
		ok = isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' ||
		     *p == '+' || *p == '-';
	double v = ok ? strtod(s, &end) : 0;
	if (!ok || errno || *end || !isfinite(v) || v < 0 || v > 1e9) {
		derr(c, n, "%s: \"%s\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5",
		     what, s);
		return false;
	}
	*out = v;
	return true;
}

bool dec_string_list(struct dctx *c, const struct ynode *n, const char *what, struct strlist *out)
{
	if (!n || n->kind != YN_SEQ || !expect_no_tag(c, n, what)) {
		if (n && n->kind != YN_SEQ)
			derr(c, n, "%s: expected a list of strings, got a %s", what, got(n));
		return false;
	}
	bool ok = true;
	strlist_free(out);
	for (size_t i = 0; i < n->n_items; i++) {
		const struct ynode *it = n->items[i];
		if (it->kind != YN_SCALAR || ynode_is_null(it)) {
			derr(c, it, "%s: item %zu: expected a string, got a %s", what, i + 1, got(it));
			ok = false;
			continue;
		}
		if (!expect_no_tag(c, it, what)) {
			ok = false;
			continue;
		}
		strlist_push(out, it->value, node_pos(it));
	}
	return ok;
}

static int pair_key_cmp(const void *a, const void *b)
{
	const struct ypair *x = *(const struct ypair *const *)a;
	const struct ypair *y = *(const struct ypair *const *)b;
	int cmp = strcmp(x->key->value, y->key->value);
	if (cmp)
		return cmp;
	if (x->key->line != y->key->line)
		return x->key->line - y->key->line;
	return x->key->col - y->key->col;
}

bool check_unique_keys(struct dctx *c, const struct ynode *map, const char *what)
{
	if (!map || map->kind != YN_MAP || map->n_pairs < 2)
		return true;
	const struct ypair **ps = xcalloc(map->n_pairs, sizeof(*ps));
	size_t k = 0;
	for (size_t i = 0; i < map->n_pairs; i++)
		if (map->pairs[i].key->kind == YN_SCALAR && !map->pairs[i].merged)
			ps[k++] = &map->pairs[i];
	qsort(ps, k, sizeof(*ps), pair_key_cmp);
	bool ok = true;
	for (size_t i = 1; i < k; i++) {
		if (!strcmp(ps[i]->key->value, ps[i - 1]->key->value)) {
			derr(c, ps[i]->key, "%s: duplicate key \"%s\" (first at line %d); expected each key once",
			     what, ps[i]->key->value, ps[i - 1]->key->line);
			ok = false;
		}
	}
	free(ps);
	return ok;
}

bool dec_string_map(struct dctx *c, const struct ynode *n, const char *what, struct kvlist *out)
{
	if (n && ynode_is_null(n))
		return true;
	if (!expect_map(c, n, what) || !expect_no_tag(c, n, what))
		return false;
	bool ok = check_unique_keys(c, n, what);
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct ynode *k = n->pairs[i].key, *v = n->pairs[i].value;
		if (k->kind != YN_SCALAR) {
			ok = false;
			continue;
		}
		if (v->kind != YN_SCALAR || ynode_is_null(v)) {
			derr(c, v, "%s: value of \"%s\": expected a string, got a %s", what, k->value, got(v));
			ok = false;
			continue;
		}
		if (!expect_no_tag(c, v, what)) {
			ok = false;
			continue;
		}
		struct kv item = { xstrdup(k->value), xstrdup(v->value), node_pos(k), node_pos(v) };
		VEC_PUSH(out->v, out->n, item);
	}
	return ok;
}

bool dec_ranges(struct dctx *c, const struct ynode *n, const char *what, uint64_t max,
		struct ranges *out)
{
	if (!n || n->kind != YN_SEQ) {
		derr(c, n, "%s: expected a list of numbers or ranges like [1, 99, 1000-2000], got a %s",
		     what, got(n));
		return false;
	}
	bool ok = true;
	free(out->v);
	out->v = NULL;
	out->n = 0;
	out->pos = node_pos(n);
	for (size_t i = 0; i < n->n_items; i++) {
		const struct ynode *it = n->items[i];
		if (it->kind != YN_SCALAR || ynode_is_null(it) || !expect_no_tag(c, it, what)) {
			if (it->kind != YN_SCALAR || ynode_is_null(it))
				derr(c, it, "%s: expected a number or a range like 1000-2000, got a %s",
				     what, got(it));
			ok = false;
			continue;
		}
		struct range r;
		const char *dash = strchr(it->value, '-');
		const char *err;
		if (dash && dash != it->value) {
			char *lo = xstrndup(it->value, (size_t)(dash - it->value));
			err = parse_uint(lo, max, &r.lo);
			if (!err)
				err = parse_uint(dash + 1, max, &r.hi);
			free(lo);
			if (!err && r.lo > r.hi)
				err = "start of range is after its end";
		} else {
			err = parse_uint(it->value, max, &r.lo);
			r.hi = r.lo;
		}
		if (err) {
			derr(c, it, "%s: \"%s\": %s; expected a number or a range like 1000-2000 (up to %llu)",
			     what, it->value, err, (unsigned long long)max);
			ok = false;
			continue;
		}
		VEC_PUSH(out->v, out->n, r);
	}
	return ok;
}

static bool idmap_field(struct dctx *c, const struct ynode *v, const char *name,
			const char *what, uint32_t *out)
{
	if (!v) {
		return false;
	}
	char *w = xasprintf("%s: %s", what, name);
	bool ok = dec_u32(c, v, w, out);
	free(w);
	return ok;
}

bool dec_idmap(struct dctx *c, const struct ynode *n, const char *what, struct idmap *out)
{
	if (!n || n->kind != YN_SEQ) {
		derr(c, n, "%s: expected a list of {inside, outside, count} mappings, got a %s",
		     what, got(n));
		return false;
	}
	bool ok = true;
	out->set = true;
	out->pos = node_pos(n);
	for (size_t i = 0; i < n->n_items; i++) {
		const struct ynode *it = n->items[i];
		if (it->kind != YN_MAP) {
			derr(c, it, "%s: expected a mapping {inside: N, outside: N, count: N}, got a %s",
			     what, got(it));
			ok = false;
			continue;
		}
		if (!check_unique_keys(c, it, what)) {
			ok = false;
			continue;
		}
		struct idmap_entry e = { 0, 0, 0, node_pos(it) };
		const struct ynode *vi = NULL, *vo = NULL, *vc = NULL;
		bool eok = true;
		for (size_t j = 0; j < it->n_pairs; j++) {
			const struct ynode *k = it->pairs[j].key;
			if (k->kind != YN_SCALAR)
				continue;
			if (!strcmp(k->value, "inside"))
				vi = it->pairs[j].value;
			else if (!strcmp(k->value, "outside"))
				vo = it->pairs[j].value;
			else if (!strcmp(k->value, "count"))
				vc = it->pairs[j].value;
			else {
				derr(c, k, "%s: unknown key \"%s\"; expected inside, outside and count",
				     what, k->value);
				eok = false;
			}
		}
		if (!vi || !vo || !vc) {
			derr(c, it, "%s: missing %s; expected inside, outside and count", what,
			     !vi ? "inside" : !vo ? "outside" : "count");
			eok = false;
		}
		eok = eok && idmap_field(c, vi, "inside", what, &e.inside);
		eok = eok && idmap_field(c, vo, "outside", what, &e.outside);
		eok = eok && idmap_field(c, vc, "count", what, &e.count);
		if (eok && e.count == 0) {
			derr(c, vc, "%s: count is 0; expected at least 1", what);
			eok = false;
		}
		if (eok && ((uint64_t)e.inside + e.count > (1ULL << 32) ||
			    (uint64_t)e.outside + e.count > (1ULL << 32))) {
			derr(c, it, "%s: range exceeds 32-bit ids; expected inside+count and outside+count within 4294967296",
			     what);
			eok = false;
		}
		if (!eok) {
			ok = false;
			continue;
		}
		VEC_PUSH(out->v, out->n, e);
	}
	return ok;
}

char *key_normalize(const char *k)
{
	char *s = xstrdup(k);
	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = '-';
	return s;
}

bool dec_fields(struct dctx *c, const struct ynode *map, const struct field *table,
		size_t n_fields, void *obj, const char *what)
{
	if (!map || ynode_is_null(map)) {
		bool ok = true;
		for (size_t i = 0; i < n_fields; i++) {
			if (table[i].flags & F_REQUIRED) {
				if (map)
					derr(c, map, "%s: missing required key \"%s\"", what, table[i].name);
				else
					diag_add(c->d, c->file, 0, 0, "%s: missing required key \"%s\"",
						 what, table[i].name);
				ok = false;
			}
		}
		return ok;
	}
	if (map->kind != YN_MAP) {
		derr(c, map, "%s: expected a mapping, got a %s", what, got(map));
		return false;
	}
	if (!expect_no_tag(c, map, what))
		return false;
	const struct ypair **seen = xcalloc(n_fields, sizeof(*seen));
	bool ok = true;
	struct buf expected = { 0 }; /* the known keys, built once */
	for (size_t i = 0; i < map->n_pairs; i++) {
		const struct ypair *p = &map->pairs[i];
		if (p->key->kind != YN_SCALAR) {
			ok = false; /* reported by the tree builder */
			continue;
		}
		char *k = key_normalize(p->key->value);
		size_t f;
		for (f = 0; f < n_fields; f++)
			if (!strcmp(k, table[f].name) || (table[f].alias && !strcmp(k, table[f].alias)))
				break;
		if (f == n_fields) {
			if (!expected.len)
				for (size_t j = 0; j < n_fields; j++)
					buf_printf(&expected, "%s%s", j ? ", " : "", table[j].name);
			derr(c, p->key, "%s: unknown key \"%s\"; expected one of: %s",
			     what, p->key->value, buf_str(&expected));
			ok = false;
		} else if (seen[f]) {
			if (p->merged) {
				/* an explicit key already set it */
			} else {
				derr(c, p->key, "%s: duplicate key \"%s\" (first at line %d); expected each key once",
				     what, p->key->value, seen[f]->key->line);
				ok = false;
			}
		} else {
			seen[f] = p;
			if (!table[f].decode(c, p->value, obj))
				ok = false;
		}
		free(k);
	}
	for (size_t f = 0; f < n_fields; f++) {
		if ((table[f].flags & F_REQUIRED) && !seen[f]) {
			derr(c, map, "%s: missing required key \"%s\"", what, table[f].name);
			ok = false;
		}
	}
	free(seen);
	buf_free(&expected);
	return ok;
}
