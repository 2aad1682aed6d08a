/* libFuzzer target for the four lithos config parsers.
 *
 * Every input is fed to all four parsers (master, sandbox, processes,
 * container), so corpus files are plain YAML configs of any kind.  After
 * each parse the result and the diagnostics are freed; a few invariants are
 * checked on the way (a parser fails exactly when it reported a problem,
 * every problem names the file and a position inside the input).
 *
 * Build (outside the autotools build, from the top of the source tree):
 *
 *   clang-14 -g -O1 -std=gnu11 -D_GNU_SOURCE -Itranslator \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     tests/fuzz/fuzz_config.c \
 *     translator/util.c translator/diag.c translator/yamltree.c \
 *     translator/decode.c translator/model.c translator/paths.c \
 *     translator/parse_master.c translator/parse_sandbox.c \
 *     translator/parse_processes.c translator/parse_container.c translator/sources.c \
 *     $(pkg-config --cflags --libs yaml-0.1) -o fuzz_config
 *
 * Run (corpus and dictionary are in tests/fuzz/):
 *
 *   mkdir -p /tmp/fuzz-work
 *   ./fuzz_config -dict=tests/fuzz/lithos.dict -max_len=65536 \
 *     -rss_limit_mb=2048 -timeout=5 -jobs=1 /tmp/fuzz-work tests/fuzz/corpus
 *
 * Minimize a grown corpus back into the committed one:
 *
 *   mkdir new && ./fuzz_config -merge=1 new tests/fuzz/corpus /tmp/fuzz-work
 *
 * tests/fuzz/run-short.sh does the build and a bounded run under make check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.yaml"

static void check(int r, struct diags *d, size_t before, int lines)
{
	/* 0 exactly when nothing was reported */
	if ((r == 0) != (diags_count(d) == before))
		abort();
	if (d->n > DIAGS_MAX)
		abort();
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (!g->file || strcmp(g->file, NAME) != 0 || !g->msg || !g->msg[0])
			abort();
		/* positions are 1-based and inside the input (0 = whole file) */
		if (g->line < 0 || g->col < 0 || g->line > lines || (g->line > 0) != (g->col > 0))
			abort();
		char *s = diag_format(g);
		if (!s || strchr(s, '\n') == s)
			abort();
		free(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	/* an upper bound of the line count as libyaml sees it: \r, \n and the
	 * UTF-8 forms of NEL, LS and PS (C2 85, E2 80 A8, E2 80 A9) */
	int lines = 2;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xa8 ||
		    data[i] == 0xa9)
			lines++;
	struct diags d = { 0 };
	size_t before;
	int r;

	{
		struct master_config m;
		before = diags_count(&d);
		r = master_config_parse_buffer(&m, NAME, buf, size, &d);
		check(r, &d, before, lines);
		master_config_free(&m);
	}
	diags_free(&d);
	{
		struct sandbox_config s;
		before = diags_count(&d);
		r = sandbox_config_parse_buffer(&s, "fuzz", NAME, buf, size, &d);
		check(r, &d, before, lines);
		sandbox_config_free(&s);
	}
	diags_free(&d);
	{
		struct processes_config p;
		before = diags_count(&d);
		r = processes_config_parse_buffer(&p, NAME, buf, size, &d);
		check(r, &d, before, lines);
		processes_config_free(&p);
	}
	diags_free(&d);
	{
		struct container_config cc;
		before = diags_count(&d);
		r = container_config_parse_buffer(&cc, NAME, buf, size, &d);
		check(r, &d, before, lines);
		container_config_free(&cc);
	}
	diags_free(&d);
	return 0;
}
