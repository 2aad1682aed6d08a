#include "diag.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void diag_vadd(struct diags *d, const char *file, int line, int col,
	       const char *fmt, va_list ap)
{
	if (d->n >= DIAGS_MAX) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	struct diag *g = &d->v[d->n++];
	g->file = xstrdup(file ? file : "<input>");
	g->line = line;
	g->col = col;
	g->msg = xvasprintf(fmt, ap);
}

void diag_add(struct diags *d, const char *file, int line, int col,
	      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, file, line, col, fmt, ap);
	va_end(ap);
}

size_t diags_count(const struct diags *d)
{
	return d->n + d->dropped;
}

char *diag_format(const struct diag *g)
{
	if (g->line > 0)
		return xasprintf("%s:%d:%d: %s", g->file, g->line, g->col, g->msg);
	return xasprintf("%s: %s", g->file, g->msg);
}

void diags_print(FILE *out, const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);
		fprintf(out, "%s\n", s);
		free(s);
	}
	if (d->dropped)
		fprintf(out, "(%zu more problems not shown)\n", d->dropped);
}

void diags_move(struct diags *dst, struct diags *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct diag *g = &src->v[i];
		if (dst->n >= DIAGS_MAX) {
			dst->dropped++;
			free(g->file);
			free(g->msg);
			continue;
		}
		if (dst->n == dst->cap) {
			dst->cap = dst->cap ? dst->cap * 2 : 8;
			dst->v = xrealloc(dst->v, dst->cap * sizeof(*dst->v));
		}
		dst->v[dst->n++] = *g;
	}
	dst->dropped += src->dropped;
	free(src->v);
	memset(src, 0, sizeof(*src));
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
