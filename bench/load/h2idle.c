// SPDX-License-Identifier: Apache-2.0
/*
 * Minimal h2c client side for `weir-load idle --h2`: what one request needs to leave a
 * multiplexed connection established at every hop (client, proxy, upstream pool), and nothing
 * more. The request is a fixed HPACK block; the response is walked frame by frame.
 */
#include <errno.h>
#include <string.h>

#include "h2idle.h"

enum {
	H2_DATA = 0,
	H2_HEADERS = 1,
	H2_RST = 3,
	H2_SETTINGS = 4,
	H2_GOAWAY = 7,
	H2_WINDOW_UPDATE = 8
};
/* 2^30 - 1 in all, from the initial 65535. */
#define H2IDLE_CONN_WINDOW_INC ((1UL << 30) - 1 - 65535)
enum {
	H2_END_STREAM = 0x1,
	H2_ACK = 0x1,
	H2_END_HEADERS = 0x4,
	H2_PADDED = 0x8,
	H2_PRIORITY = 0x20
};

const unsigned char h2idle_settings_ack[9] = {0, 0, 0, H2_SETTINGS, H2_ACK, 0, 0, 0, 0};

static void frame_head(unsigned char *p, size_t len, int type, int flags, unsigned int stream)
{
	p[0] = (unsigned char)(len >> 16);
	p[1] = (unsigned char)(len >> 8);
	p[2] = (unsigned char)len;
	p[3] = (unsigned char)type;
	p[4] = (unsigned char)flags;
	p[5] = (unsigned char)(stream >> 24);
	p[6] = (unsigned char)(stream >> 16);
	p[7] = (unsigned char)(stream >> 8);
	p[8] = (unsigned char)stream;
}

long h2idle_request(char *buf, size_t cap, const char *header)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	/* Static-table indices (RFC 7541 appendix A): :method GET, :scheme http, :path /; then
	 * :authority (index 1) as a literal without indexing, "bench". */
	static const unsigned char fixed[] = {0x82, 0x86, 0x84, 0x01, 5, 'b', 'e', 'n', 'c', 'h'};
	unsigned char *p = (unsigned char *)buf, *blk;
	size_t off = 0, nlen = 0, vlen = 0, blen;
	const char *value = NULL;

	if (header) {
		const char *colon = strchr(header, ':');

		if (!colon || colon == header)
			return -EINVAL;
		nlen = (size_t)(colon - header);
		value = colon + 1;
		while (*value == ' ')
			value++;
		vlen = strlen(value);
		/* One-byte HPACK lengths only: under 127, which a benchmark header always is. */
		if (nlen >= 127 || vlen >= 127)
			return -EINVAL;
	}
	blen = sizeof(fixed) + (header ? 3 + nlen + vlen : 0);
	if (cap < sizeof(preface) - 1 + 9 + 13 + 9 + blen)
		return -EINVAL;
	memcpy(p, preface, sizeof(preface) - 1);
	off = sizeof(preface) - 1;
	frame_head(p + off, 0, H2_SETTINGS, 0, 0);
	off += 9;
	/* The connection window opened to 1 GiB, as h2load (-W 30), curl, Go and browsers
	 * open theirs: a client that never returns credit is not what a proxy faces. */
	frame_head(p + off, 4, H2_WINDOW_UPDATE, 0, 0);
	p[off + 9] = (unsigned char)(H2IDLE_CONN_WINDOW_INC >> 24);
	p[off + 10] = (unsigned char)(H2IDLE_CONN_WINDOW_INC >> 16);
	p[off + 11] = (unsigned char)(H2IDLE_CONN_WINDOW_INC >> 8);
	p[off + 12] = (unsigned char)H2IDLE_CONN_WINDOW_INC;
	off += 13;
	frame_head(p + off, blen, H2_HEADERS, H2_END_STREAM | H2_END_HEADERS, 1);
	off += 9;
	blk = p + off;
	memcpy(blk, fixed, sizeof(fixed));
	blk += sizeof(fixed);
	if (header) {
		size_t i;

		/* Literal without indexing, new name; HTTP/2 wants the name in lower case. */
		*blk++ = 0x00;
		*blk++ = (unsigned char)nlen;
		for (i = 0; i < nlen; i++) {
			char ch = header[i];

			*blk++ = (unsigned char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
		}
		*blk++ = (unsigned char)vlen;
		memcpy(blk, value, vlen);
	}
	return (long)(off + blen);
}

/*
 * The status is the first field of the response block. Encoders put 200 in as the static
 * entry 8 (0x88) or as a literal on that name ("200", with or without indexing); anything
 * else is not a 200 or is Huffman-coded, which this reader does not decode and so rejects.
 */
static int status_ok(const unsigned char *b, size_t n)
{
	if (n >= 1 && b[0] == 0x88)
		return 1;
	if (n >= 5 && (b[0] == 0x48 || b[0] == 0x08) && b[1] == 3 && !memcmp(b + 2, "200", 3))
		return 1;
	return 0;
}

int h2idle_response(struct h2idle_reader *rd, const unsigned char *buf, size_t len)
{
	while (len - rd->seen >= 9) {
		const unsigned char *f = buf + rd->seen;
		size_t flen = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
		int type = f[3], flags = f[4];
		unsigned int stream = ((unsigned int)f[5] & 0x7f) << 24 | (unsigned int)f[6] << 16 |
				      (unsigned int)f[7] << 8 | f[8];

		if (len - rd->seen - 9 < flen)
			break;
		if (type == H2_GOAWAY || (type == H2_RST && stream == 1))
			return -EPROTO;
		if (type == H2_SETTINGS && !(flags & H2_ACK))
			rd->want_ack = true;
		if (stream == 1 && type == H2_HEADERS && !rd->got_head) {
			/* Skip the pad length and the priority fields when flagged. */
			size_t skip = (flags & H2_PADDED ? 1 : 0) + (flags & H2_PRIORITY ? 5 : 0);

			if (flen < skip || !status_ok(f + 9 + skip, flen - skip))
				return -EPROTO;
			rd->got_head = true;
		}
		rd->seen += 9 + flen;
		if (stream == 1 && (type == H2_DATA || type == H2_HEADERS) && flags & H2_END_STREAM)
			return rd->got_head ? 1 : -EPROTO;
	}
	return 0;
}
