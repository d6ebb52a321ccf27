// SPDX-License-Identifier: Apache-2.0
/*
 * Scratch config directories for the store and dirsrc unit tests (cfgdir.h). Real files in
 * a real directory, so the directory source is tested with real inotify events; the fixture
 * tears down whatever a failed test left half made.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/dirsrc.h"
#include "config/store.h"
#include "model/model.h"

#include "cfgdir.h"

int cfgdir_setup(void **state)
{
	struct cfgdir_fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/weirtest-cfg-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Removes the files of <dir>, and of its subdirectories <levels> down, then <dir>. */
static void rm_dir(const char *dir, int levels)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && levels > 0)
			rm_dir(path, levels - 1);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int cfgdir_teardown(void **state)
{
	struct cfgdir_fix *f = *state;

	model_free(f->m);
	dirsrc_free(f->d);
	store_free(f->s);
	rm_dir(f->dir, 1);
	free(f);
	return 0;
}

void cfgdir_open(struct cfgdir_fix *f)
{
	f->s = store_new();
	assert_non_null(f->s);
	f->d = dirsrc_new(f->s, f->dir);
	assert_non_null(f->d);
}

void cfgdir_put(const struct cfgdir_fix *f, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

void cfgdir_del(const struct cfgdir_fix *f, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(unlink(path), 0);
}

const struct model *cfgdir_snapshot(struct cfgdir_fix *f)
{
	model_free(f->m);
	f->m = model_from_store(f->s);
	assert_non_null(f->m);
	return f->m;
}

const char *cfgdir_svc_yaml(const char *name, int ip, int port)
{
	static char bufs[4][512];
	static int k;
	char *b = bufs[k++ % 4];

	snprintf(b, sizeof(bufs[0]),
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
		 "spec: {clusterIP: 198.19.0.%d, ports: [{name: http, port: %d}]}\n",
		 name, ip, port);
	return b;
}

unsigned cfgdir_svc_port(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nservices; i++)
		if (!strcmp(m->services[i].ns, "default") && !strcmp(m->services[i].name, name))
			return m->services[i].nports ? m->services[i].ports[0].port : 0;
	return 0;
}
