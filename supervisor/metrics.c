/* Cantal and Prometheus metrics (see metrics.h for the file formats).
 *
 * Pointers handed out by metrics_counter()/metrics_level() must stay the
 * same when metrics_commit() moves the values into the shared file, so each
 * set of registrations lives in a reserved stretch of address space
 * (PROT_NONE, made writable page by page as registrations come in); commit
 * maps the new values file over its start with MAP_FIXED, which keeps every
 * address and its value.  The previous set's mapping is released then. */
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define METRICS_MAX (1u << 20)	/* metrics per set: 8 MiB of address space */
#define META_MAX (64u << 20)	/* largest old .meta read back */

enum { K_COUNTER, K_LEVEL };

struct ment {
	char *group, *metric;
	char *key;		/* {"group":"...","metric":"..."}: the meta JSON */
	int kind;
	long prev;		/* same name in the committed set, or -1 */
	uint64_t snap;		/* its value when taken over (carry-over: the value) */
};

struct mset {
	struct ment *e;
	size_t n, cap;
	uint32_t *slot;		/* open addressing on key: index + 1, 0 free */
	size_t nslot;
	char *region;		/* values: 8 bytes per entry */
	size_t mapped;		/* accessible bytes from region */
	size_t reserved;	/* bytes of address space owned from region */
};

struct psample {
	char *family;
	char *labels;
	size_t idx;
};

struct metrics {
	char *base, *prom;
	size_t gran;		/* file size and mapping granule: 4096 or the page */
	struct mset cur;	/* committed (region: the file mapping) */
	struct mset pend;	/* registered since (region: the reservation) */
	struct mset carry;	/* counters of an earlier tree, until the first commit */
	bool committed;
	struct psample *pnames;	/* Prometheus names of cur, sorted; NULL: none yet */
};

static void pnames_free(struct metrics *m, size_t n)
{
	for (size_t i = 0; m->pnames && i < n; i++) {
		free(m->pnames[i].family);
		free(m->pnames[i].labels);
	}
	free(m->pnames);
	m->pnames = NULL;
}

static void set_err(char **err, char *msg)
{
	if (err)
		*err = msg;
	else
		free(msg);
}

/* ---- JSON and name helpers ---- */

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min, cp;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string as serde_json writes it (short escapes, \u00xx for other
 * control characters, UTF-8 as is); invalid UTF-8 becomes U+FFFD. */
static void json_str(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_puts(b, "\"");
	while (*s) {
		unsigned c = *s;
		if (c >= 0x80) {
			size_t n = utf8_len(s);
			if (n) {
				buf_add(b, (const char *)s, n);
				s += n;
			} else {
				buf_puts(b, "\xef\xbf\xbd");
				s++;
			}
			continue;
		}
		switch (c) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default:
			if (c < 0x20)
				buf_printf(b, "\\u%04x", c);
			else
				buf_add(b, (const char *)s, 1);
		}
		s++;
	}
	buf_puts(b, "\"");
}

static char *meta_key(const char *group, const char *metric)
{
	struct buf b = {0};
	buf_puts(&b, "{\"group\":");
	json_str(&b, group);
	buf_puts(&b, ",\"metric\":");
	json_str(&b, metric);
	buf_puts(&b, "}");
	return b.p;
}

/* ---- sets ---- */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static long mset_find(const struct mset *s, const char *key)
{
	if (!s->nslot)
		return -1;
	for (size_t i = hash_str(key) & (s->nslot - 1);; i = (i + 1) & (s->nslot - 1)) {
		uint32_t v = s->slot[i];
		if (!v)
			return -1;
		if (strcmp(s->e[v - 1].key, key) == 0)
			return (long)v - 1;
	}
}

static void mset_index(struct mset *s, size_t idx)
{
	size_t i = hash_str(s->e[idx].key) & (s->nslot - 1);
	while (s->slot[i])
		i = (i + 1) & (s->nslot - 1);
	s->slot[i] = (uint32_t)idx + 1;
}

/* Append an entry (taking ownership of the strings); no duplicate check. */
static struct ment *mset_add(struct mset *s, char *group, char *metric, char *key, int kind)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
	}
	if (2 * (s->n + 1) > s->nslot) {
		free(s->slot);
		s->nslot = s->nslot ? 2 * s->nslot : 128;
		s->slot = xcalloc(s->nslot, sizeof(*s->slot));
		for (size_t i = 0; i < s->n; i++)
			mset_index(s, i);
	}
	struct ment *e = &s->e[s->n];
	*e = (struct ment){ .group = group, .metric = metric, .key = key, .kind = kind, .prev = -1 };
	mset_index(s, s->n++);
	return e;
}

static void mset_free(struct mset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].group);
		free(s->e[i].metric);
		free(s->e[i].key);
	}
	free(s->e);
	free(s->slot);
	if (s->region && s->reserved)
		munmap(s->region, s->reserved);
	*s = (struct mset){0};
}

static size_t values_size(const struct metrics *m, size_t n)
{
	size_t sz = (n * 8 + m->gran - 1) / m->gran * m->gran;
	return sz ? sz : m->gran;
}

/* ---- carrying counters over from an earlier tree ---- */

/* Lines "KIND SIZE[ FLAGS]: JSON"; value offsets follow the sizes.  Only
 * "counter 8: " lines are taken; parsing stops at the first line whose size
 * cannot be read, since the offsets after it are unknown. */
static void load_carry(struct metrics *m)
{
	_cleanup_free_ char *mpath = xasprintf("%s.meta", m->base);
	_cleanup_free_ char *vpath = xasprintf("%s.values", m->base);
	size_t mlen, vlen;
	_cleanup_free_ char *meta = read_file_limited(mpath, META_MAX, &mlen);
	if (!meta)
		return;
	_cleanup_free_ char *vals = read_file_limited(vpath, META_MAX, &vlen);
	if (!vals)
		return;
	size_t off = 0;
	char *line = meta, *end = meta + mlen;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;	/* an unterminated last line: the writer died */
		*nl = 0;
		char *sp = strchr(line, ' ');
		if (!sp || sp == line || sp[1] < '0' || sp[1] > '9')
			break;
		char *q;
		errno = 0;
		unsigned long long size = strtoull(sp + 1, &q, 10);
		if (errno || (*q != ':' && *q != ' ') || size > META_MAX)
			break;
		if (strncmp(line, "counter 8: {", 12) == 0 && off + 8 <= vlen) {
			char *key = line + 11;
			if (mset_find(&m->carry, key) < 0) {
				uint64_t v;
				memcpy(&v, vals + off, 8);
				mset_add(&m->carry, NULL, NULL, xstrdup(key), K_COUNTER)->snap = v;
			}
		}
		off += size;
		line = nl + 1;
	}
}

struct metrics *metrics_new(const char *base, const char *prom, char **err)
{
	if (!base || !*base) {
		set_err(err, xstrdup("metrics: empty cantal path"));
		return NULL;
	}
	if (base[strlen(base) - 1] == '/') {
		set_err(err, xasprintf("metrics: cantal path %s names a directory, "
				       "expected DIR/NAME", base));
		return NULL;
	}
	if (prom && !*prom) {
		set_err(err, xstrdup("metrics: empty Prometheus file path"));
		return NULL;
	}
	struct metrics *m = xcalloc(1, sizeof(*m));
	m->base = xstrdup(base);
	m->prom = prom ? xstrdup(prom) : NULL;
	long ps = sysconf(_SC_PAGESIZE);
	m->gran = ps > 4096 ? (size_t)ps : 4096;
	load_carry(m);
	return m;
}

/* ---- registration ---- */

/* Address space for the next set, if not there yet. */
static int reserve(struct metrics *m)
{
	struct mset *p = &m->pend;
	if (p->region)
		return 0;
	size_t res = values_size(m, METRICS_MAX);
	void *r = mmap(NULL, res, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	p->region = r;
	p->reserved = res;
	p->mapped = 0;
	return 0;
}

static void *reg(struct metrics *m, const char *group, const char *metric, int kind)
{
	if (!m || !group || !metric || !*group || !*metric)
		return NULL;
	struct mset *p = &m->pend;
	if (reserve(m) < 0)
		return NULL;
	char *key = meta_key(group, metric);
	long i = mset_find(p, key);
	if (i >= 0) {
		free(key);
		return p->e[i].kind == kind ? p->region + 8 * (size_t)i : NULL;
	}
	if (p->n >= METRICS_MAX) {
		free(key);
		return NULL;
	}
	if ((p->n + 1) * 8 > p->mapped) {
		if (mprotect(p->region + p->mapped, m->gran, PROT_READ | PROT_WRITE) < 0) {
			free(key);
			return NULL;
		}
		p->mapped += m->gran;
	}
	uint64_t v = 0;
	long prev = -1;
	if (m->committed && (i = mset_find(&m->cur, key)) >= 0 && m->cur.e[i].kind == kind) {
		prev = i;
		memcpy(&v, m->cur.region + 8 * (size_t)i, 8);
	} else if (kind == K_COUNTER && (i = mset_find(&m->carry, key)) >= 0) {
		v = m->carry.e[i].snap;
	}
	struct ment *e = mset_add(p, xstrdup(group), xstrdup(metric), key, kind);
	e->prev = prev;
	e->snap = v;
	char *slot = p->region + 8 * (p->n - 1);
	memcpy(slot, &v, 8);
	return slot;
}

uint64_t *metrics_counter(struct metrics *m, const char *group, const char *metric)
{
	return reg(m, group, metric, K_COUNTER);
}

int64_t *metrics_level(struct metrics *m, const char *group, const char *metric)
{
	return reg(m, group, metric, K_LEVEL);
}

/* ---- files ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A fresh tmp file: never one left over, nor where a symlink points. */
static int open_tmp(const char *tmp)
{
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -1;
	return open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

/* Write data to tmp, then rename it to path. */
static int replace_file(const char *tmp, const char *path, const char *data, size_t len, char **err)
{
	int fd = open_tmp(tmp);
	if (fd < 0) {
		set_err(err, xasprintf("%s: %s", tmp, strerror(errno)));
		return -1;
	}
	if (write_all(fd, data, len) < 0) {
		set_err(err, xasprintf("%s: %s", tmp, strerror(errno)));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		set_err(err, xasprintf("%s: %s", tmp, strerror(errno)));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		set_err(err, xasprintf("rename %s to %s: %s", tmp, path, strerror(errno)));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int metrics_commit(struct metrics *m, char **err)
{
	if (!m->committed && reserve(m) < 0) {	/* first commit, maybe empty */
		set_err(err, xasprintf("metrics: mmap: %s", strerror(errno)));
		return -1;
	}
	bool fresh = m->pend.region != NULL;
	struct mset *t = fresh ? &m->pend : &m->cur;
	size_t n = t->n, sz = values_size(m, n);

	/* increments through the old pointers since registration */
	if (fresh && m->committed)
		for (size_t i = 0; i < n; i++) {
			struct ment *e = &t->e[i];
			if (e->prev < 0)
				continue;
			uint64_t now, v;
			memcpy(&now, m->cur.region + 8 * (size_t)e->prev, 8);
			memcpy(&v, t->region + 8 * i, 8);
			v += now - e->snap;
			memcpy(t->region + 8 * i, &v, 8);
			e->snap = now;
		}

	struct buf meta = {0};
	for (size_t i = 0; i < n; i++) {
		buf_puts(&meta, t->e[i].kind == K_COUNTER ? "counter 8: " : "level 8 signed: ");
		buf_puts(&meta, t->e[i].key);
		buf_puts(&meta, "\n");
	}

	_cleanup_free_ char *tmp = xasprintf("%s.tmp", m->base);
	_cleanup_free_ char *vpath = xasprintf("%s.values", m->base);
	_cleanup_free_ char *mpath = xasprintf("%s.meta", m->base);
	int fd = open_tmp(tmp);
	if (fd < 0) {
		set_err(err, xasprintf("%s: %s", tmp, strerror(errno)));
		buf_free(&meta);
		return -1;
	}
	errno = 0;
	if (ftruncate(fd, (off_t)sz) < 0 || (n && pwrite(fd, t->region, n * 8, 0) != (ssize_t)(n * 8))) {
		set_err(err, xasprintf("%s: %s", tmp, errno ? strerror(errno) : "short write"));
		goto fail_tmp;
	}
	/* only the first n*8 bytes of the region need be accessible */
	char *save = n ? xmalloc(n * 8) : NULL;
	if (n)
		memcpy(save, t->region, n * 8);
	if (mmap(t->region, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		set_err(err, xasprintf("mmap %s: %s", tmp, strerror(errno)));
		/* MAP_FIXED may have dropped what was there: private memory again */
		if (mmap(t->region, sz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED && n)
			memcpy(t->region, save, n * 8);
		free(save);
		goto fail_tmp;
	}
	free(save);
	close(fd);

	if (fresh) {	/* adopt the new set */
		if (m->pend.reserved > sz)
			munmap(m->pend.region + sz, m->pend.reserved - sz);
		m->pend.reserved = m->pend.mapped = sz;
		pnames_free(m, m->cur.n);
		mset_free(&m->cur);
		m->cur = m->pend;
		m->pend = (struct mset){0};
		mset_free(&m->carry);
		m->committed = true;
	} else {
		m->cur.reserved = m->cur.mapped = sz;
	}
	for (size_t i = 0; i < m->cur.n; i++)
		m->cur.e[i].prev = -1;

	if (rename(tmp, vpath) < 0) {
		set_err(err, xasprintf("rename %s to %s: %s", tmp, vpath, strerror(errno)));
		unlink(tmp);
		buf_free(&meta);
		return -1;
	}
	int r = replace_file(tmp, mpath, meta.p ? meta.p : "", meta.len, err);
	buf_free(&meta);
	return r;

fail_tmp:
	close(fd);
	unlink(tmp);
	buf_free(&meta);
	return -1;
}

/* ---- Prometheus ---- */

static int psample_cmp(const void *a, const void *b)
{
	const struct psample *x = a, *y = b;
	int c = strcmp(x->family, y->family);
	if (!c)
		c = strcmp(x->labels, y->labels);
	if (!c)
		c = x->idx < y->idx ? -1 : x->idx > y->idx;
	return c;
}

static void prom_name(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_';
		buf_add(b, okc ? &c : "_", 1);
	}
}

static void prom_label(struct buf *b, const char *name, const char *val, size_t n)
{
	const unsigned char *s = (const unsigned char *)val, *e = s + n;
	buf_printf(b, "%s=\"", name);
	while (s < e) {
		if (*s >= 0x80) {
			size_t l = utf8_len(s);
			if (l && s + l <= e) {
				buf_add(b, (const char *)s, l);
				s += l;
			} else {
				buf_puts(b, "\xef\xbf\xbd");
				s++;
			}
			continue;
		}
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_add(b, (const char *)s, 1);
		s++;
	}
	buf_puts(b, "\"");
}

/* The names of a set's samples, sorted by family, then labels. */
static struct psample *prom_names(const struct mset *s)
{
	struct psample *v = xcalloc(s->n, sizeof(*v));
	for (size_t i = 0; i < s->n; i++) {
		const struct ment *e = &s->e[i];
		struct buf f = {0}, l = {0};
		const char *g = e->group, *dot;
		buf_puts(&f, "lithos_");
		if (str_has_prefix(g, "processes.") && (dot = strchr(g + 10, '.')) &&
		    dot > g + 10 && dot[1]) {
			buf_puts(&f, "processes_");
			prom_label(&l, "sandbox", g + 10, (size_t)(dot - (g + 10)));
			buf_puts(&l, ",");
			prom_label(&l, "process", dot + 1, strlen(dot + 1));
		} else {
			prom_name(&f, g, strlen(g));
			buf_puts(&f, "_");
		}
		prom_name(&f, e->metric, strlen(e->metric));
		if (e->kind == K_COUNTER)
			buf_puts(&f, "_total");
		v[i] = (struct psample){ .family = xstrdup(buf_str(&f)),
					 .labels = xstrdup(buf_str(&l)), .idx = i };
		buf_free(&f);
		buf_free(&l);
	}
	qsort(v, s->n, sizeof(*v), psample_cmp);
	return v;
}

int metrics_write_prometheus(struct metrics *m, char **err)
{
	if (!m->prom)
		return 0;
	const struct mset *s = &m->cur;
	if (!m->pnames && s->n)
		m->pnames = prom_names(s);
	const struct psample *v = m->pnames;

	struct buf out = {0};
	const char *fam = NULL, *lab = NULL;
	int fkind = -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct ment *e = &s->e[v[i].idx];
		if (!fam || strcmp(fam, v[i].family) != 0) {
			fkind = e->kind;
			buf_printf(&out, "# TYPE %s %s\n", v[i].family,
				   e->kind == K_COUNTER ? "counter" : "gauge");
		} else if (e->kind != fkind || strcmp(lab, v[i].labels) == 0) {
			continue;	/* names that collide once sanitized */
		}
		fam = v[i].family;
		lab = v[i].labels;
		const char *val = s->region + 8 * v[i].idx;
		if (e->kind == K_COUNTER) {
			uint64_t u;
			memcpy(&u, val, 8);
			buf_printf(&out, "%s{%s} %llu\n", fam, lab, (unsigned long long)u);
		} else {
			int64_t d;
			memcpy(&d, val, 8);
			buf_printf(&out, "%s{%s} %lld\n", fam, lab, (long long)d);
		}
	}
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", m->prom);
	int r = replace_file(tmp, m->prom, out.p ? out.p : "", out.len, err);
	buf_free(&out);
	return r;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pnames_free(m, m->cur.n);
	mset_free(&m->cur);
	mset_free(&m->pend);
	mset_free(&m->carry);
	free(m->base);
	free(m->prom);
	free(m);
}
