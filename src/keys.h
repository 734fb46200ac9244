/*
 * keys.h - key files and the genkey / pubkey / genpsk commands. Keys are 32 bytes written as 44
 * characters of base64 on one line, exactly as wg(8) writes them. Used by config.c and main.c.
 */
#ifndef VT_KEYS_H
#define VT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Read a base64 key file (one line, optional trailing newline) into key. If must_be_private,
 * refuse a file readable or writable by group or others. 0, or -1 with a message naming the
 * file in err (errlen bytes, NUL-terminated).
 */
int keys_read_file(const char *path, bool must_be_private, uint8_t key[32], char *err,
    size_t errlen);
/* "vtund-ng genkey": write a new base64 private key and a newline to out; 0 or -1. */
int keys_cmd_genkey(FILE *out);
/* "vtund-ng pubkey": read a base64 private key from in, write its base64 public key and a
 * newline to out; 0, or -1 with a message printed to err. */
int keys_cmd_pubkey(FILE *in, FILE *out, FILE *err);
/* "vtund-ng genpsk": write a new base64 pre-shared key (32 random bytes) and a newline to out;
 * 0 or -1. */
int keys_cmd_genpsk(FILE *out);

#endif
