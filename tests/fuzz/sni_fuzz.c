// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the ClientHello reader (proxy/sni.c): the input is what a client
 * sends, fed once whole and once in reads whose sizes the input's own bytes choose. Both
 * feeds must reach the same verdict and the same name; a name found is lower case and at
 * most SNI_HOST_MAX bytes; nothing is read past the bytes fed (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sni_parser whole, split;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sni_result a, b = SNI_NEED_MORE;
	size_t off = 0;

	sni_init(&whole);
	a = sni_feed(&whole, data, size);
	sni_init(&split);
	while (off < size) {
		/* Each read's length: 1..16 from the byte at its start. */
		size_t k = (size_t)(data[off] & 15) + 1;
		uint8_t *piece;

		if (k > size - off)
			k = size - off;
		/* A heap copy of exactly <k> bytes, so an over-read is caught. */
		piece = malloc(k);
		if (!piece)
			return 0;
		memcpy(piece, data + off, k);
		b = sni_feed(&split, piece, k);
		free(piece);
		off += k;
	}
	if (!size)
		b = sni_feed(&split, data, 0);
	if (a != b)
		abort();
	if (a == SNI_FOUND) {
		if (whole.host_len == 0 || whole.host_len > SNI_HOST_MAX ||
		    strlen(whole.host) != whole.host_len || strcmp(whole.host, split.host))
			abort();
		for (size_t i = 0; i < whole.host_len; i++)
			if (whole.host[i] >= 'A' && whole.host[i] <= 'Z')
				abort();
	}
	return 0;
}
