/* Minimal TAP producer for C unit tests (run through automake's tap-driver).
 *
 *   ok(cond, "name");  is_int(a, b, "name");  is_str(a, b, "name");
 *   return done_testing();
 */
#ifndef LITHOS_TAP_H
#define LITHOS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5), unused))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   Failed at %s line %d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define is_int(got, want, ...) do { \
	long long _g = (long long)(got), _w = (long long)(want); \
	if (!ok(_g == _w, __VA_ARGS__)) \
		printf("#   got: %lld\n#   expected: %lld\n", _g, _w); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *_g = (got), *_w = (want); \
	if (!ok(_g && _w ? strcmp(_g, _w) == 0 : _g == _w, __VA_ARGS__)) \
		printf("#   got:      '%s'\n#   expected: '%s'\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
} while (0)

__attribute__((unused))
static int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
