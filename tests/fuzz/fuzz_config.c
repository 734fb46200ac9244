/*
 * fuzz_config.c - libFuzzer target for the configuration loader: arbitrary text through
 * config_load_string, then everything freed. Crashes, leaks and sanitizer reports are bugs.
 * Run: ./tests/fuzz/fuzz_config -dict=tests/fuzz/config.dict tests/fuzz/corpus/config
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libconfig 1.5 (Debian 12) leaks a string token dropped during error recovery, e.g. the "x" in
 * the line  "x" = 1;  (hyperrealm/libconfig#142, fixed by #155 in 1.7.3). Not ours to fix: keep
 * LeakSanitizer quiet about the two places the lexer allocates string tokens, and nothing else
 * (a missing config_destroy would still show up through config_read_string).
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs;
	struct vt_config cfg;
	char *text;

	/* the loader takes a C string: NUL-terminate a copy */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&errs, 0, sizeof(errs));
	if (config_load_string(text, "fuzz.conf", &cfg, &errs) == 0) {
		/* a loaded configuration must be self-consistent */
		for (int i = 0; i < cfg.npeers; i++)
			if (config_find_peer(&cfg, cfg.peers[i].name) == NULL)
				abort();
		config_free(&cfg);
	}
	free(text);
	return 0;
}
