/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable NUL-terminated string buffer for the text writers (JSON, DOT, Prometheus).
 * Errors are sticky: after a failed allocation every further append is a no-op and
 * returns -ENOMEM, so a writer may check once at the end instead of after every call.
 */
#ifndef WEIR_USER_STRBUF_H
#define WEIR_USER_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* NUL-terminated contents; NULL until the first append */
	size_t len; /* bytes in use, not counting the NUL */
	size_t cap; /* bytes allocated */
	int err;    /* 0, or the first -errno an append hit (sticky) */
};

/* How strbuf_append_esc() escapes a string for the format it lands in. */
enum strbuf_esc {
	STRBUF_ESC_JSON, /* inside "...": \" \\ \n \t, control bytes as \u00XX */
	STRBUF_ESC_DOT,	 /* inside a Graphviz "...": \" \\, control bytes as a space */
	STRBUF_ESC_PROM, /* a Prometheus label value: \" \\ \n (text format 0.0.4) */
};

/* Prepares <sb> (caller's storage) as an empty buffer; allocates nothing. */
void strbuf_init(struct strbuf *sb);
/* Frees what <sb> holds and leaves it empty and reusable. */
void strbuf_fini(struct strbuf *sb);
/* Empties <sb> but keeps its allocation and clears the sticky error. */
void strbuf_reset(struct strbuf *sb);

/* Appends <n> bytes at <data> to <sb>. Returns 0 or -ENOMEM (then sticky). */
int strbuf_append(struct strbuf *sb, const void *data, size_t n);
/* Appends the NUL-terminated <s>. Returns 0 or -ENOMEM. */
int strbuf_puts(struct strbuf *sb, const char *s);
/* Appends printf-formatted text. Returns 0 or -ENOMEM/-EINVAL. */
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Appends <s> escaped for <esc>, without the surrounding quotes. Bytes that are not valid
 * UTF-8 become U+FFFD, so the output stays valid whatever the input (names come from
 * outside). Returns 0 or -ENOMEM.
 */
int strbuf_append_esc(struct strbuf *sb, const char *s, enum strbuf_esc esc);

/* Returns the contents ("" when nothing was appended); valid until the next append. */
const char *strbuf_str(const struct strbuf *sb);

/*
 * Hands the contents to the caller (free() them) and leaves <sb> empty. Returns NULL with
 * errno set when an append had failed (the partial text is freed).
 */
char *strbuf_steal(struct strbuf *sb);

#endif /* WEIR_USER_STRBUF_H */
