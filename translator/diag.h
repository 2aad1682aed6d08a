/* Diagnostics: a list of "FILE:LINE:COLUMN: message" problems.
 *
 * Config checking reports every problem, not only the first, so errors are
 * collected here instead of being returned one at a time.  Lines and columns
 * are 1-based; 0 means "the whole file" and is printed without them.
 */
#ifndef LITHOS_DIAG_H
#define LITHOS_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct diag {
	char *file;
	int line;
	int col;
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
	size_t dropped; /* problems not stored once DIAGS_MAX was reached */
};

#define DIAGS_MAX 1000

void diag_add(struct diags *d, const char *file, int line, int col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_vadd(struct diags *d, const char *file, int line, int col,
	       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* Total count including dropped ones. */
size_t diags_count(const struct diags *d);
/* Format one problem as a single line (no newline); caller frees. */
char *diag_format(const struct diag *g);
void diags_print(FILE *out, const struct diags *d);
/* Move all problems of src to the end of dst. */
void diags_move(struct diags *dst, struct diags *src);
void diags_free(struct diags *d);

#endif
