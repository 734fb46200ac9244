/* xmalloc.h - die-on-OOM allocation for start-up and configuration paths (never per packet). */
#ifndef VT_XMALLOC_H
#define VT_XMALLOC_H

#include <stddef.h>

void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
/* Resize p to n elements of size (reallocarray), ending the program without memory. */
void *xreallocarray(void *p, size_t n, size_t size);

#endif
