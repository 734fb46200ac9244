/*
 * fuzz_vtun_import.c - libFuzzer target for `vtund-ng import-vtun` (src/vtun_import.c):
 * arbitrary bytes as a VTun vtund.conf, converted as a server with keys and as a client;
 * whatever it accepts must give a vtund-ng configuration that libconfig reads without a
 * syntax error (its settings may still be refused: that is -t's job), and the session count
 * must agree with vtun_import_count. Crashes, leaks and sanitizer reports are bugs.
 * Run: ./tests/fuzz/fuzz_vtun_import -dict=tests/fuzz/vtun_import.dict \
 *      tests/fuzz/corpus/vtun_import
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vtun_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's leak of a string token in error recovery (see fuzz_config.c). */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static const char *const keys[] = {
	"PFazca8sc6ownTAq8Tq7a2BGQN327vcaFS/eiNdTnzw=",
	"QcVu1k+0GhGJkjZFtu5pnCZoPEasD6qzYvejsI3/D2A=",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtun_import_opts o = { "fuzz.conf", NULL, "/nonexistent/private.key", keys, 2 };
	struct config_errors e;
	struct vt_config cfg;
	struct vtun_import r;
	int n = vtun_import_count((const char *)data, size);

	for (int mode = 0; mode < 2; mode++) {
		o.remote = mode == 0 ? NULL : "vpn.example.net";
		if (vtun_import((const char *)data, size, &o, &r) == -1) {
			if (n != -1 || r.out != NULL || r.error[0] == '\0')
				abort();
			continue;
		}
		if (n < 0 || r.sessions + r.skipped > n)
			abort();
		memset(&e, 0, sizeof(e));
		if (config_load_string(r.out, "out.conf", &cfg, &e) == 0)
			config_free(&cfg);
		for (int i = 0; i < e.n; i++)
			if (strstr(e.msg[i], "syntax error") != NULL) {
				fprintf(stderr, "%s\n%s", e.msg[i], r.out);
				abort();
			}
		vtun_import_free(&r);
	}
	return 0;
}
