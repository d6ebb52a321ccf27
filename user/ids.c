// SPDX-License-Identifier: Apache-2.0
/*
 * The id tables of ids.h. Keys are "namespace/name"; a name longer than the info maps
 * hold still gets its own id here (the key is the full name), only its printed name is
 * truncated.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"

void ids_init(struct ids *ids, uint32_t max_wl, uint32_t max_svc)
{
	memset(ids, 0, sizeof(*ids));
	strmap_init(&ids->wl);
	strmap_init(&ids->svc);
	ids->next_wl = ids->next_svc = 1;
	ids->max_wl = max_wl;
	ids->max_svc = max_svc;
}

void ids_fini(struct ids *ids)
{
	strmap_fini(&ids->wl, NULL);
	strmap_fini(&ids->svc, NULL);
}

static void ids_key(char *buf, size_t len, const char *ns, const char *name)
{
	snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
}

static int ids_restore(struct strmap *m, uint32_t *next, uint32_t id, const char *ns,
		       const char *name)
{
	char key[512];

	if (id == 0)
		return -EINVAL;
	ids_key(key, sizeof(key), ns, name);
	if (strmap_put(m, key, (void *)(uintptr_t)id, NULL) < 0)
		return -ENOMEM;
	if (id >= *next)
		*next = id + 1;
	return 0;
}

int ids_restore_wl(struct ids *ids, uint32_t id, const struct weir_wl_info *info)
{
	return ids_restore(&ids->wl, &ids->next_wl, id, info->ns, info->name);
}

int ids_restore_svc(struct ids *ids, uint32_t id, const struct weir_svc_info *info)
{
	return ids_restore(&ids->svc, &ids->next_svc, id, info->ns, info->name);
}

static uint32_t ids_get(struct strmap *m, uint32_t *next, uint32_t max, const char *ns,
			const char *name, bool *is_new)
{
	char key[512];
	uint32_t id;

	if (is_new)
		*is_new = false;
	ids_key(key, sizeof(key), ns, name);
	id = (uint32_t)(uintptr_t)strmap_get(m, key);
	if (id)
		return id;
	if (*next > max)
		return 0;
	id = (*next)++;
	if (strmap_put(m, key, (void *)(uintptr_t)id, NULL) < 0)
		return 0;
	if (is_new)
		*is_new = true;
	return id;
}

uint32_t ids_workload(struct ids *ids, const char *ns, const char *name, bool *is_new)
{
	return ids_get(&ids->wl, &ids->next_wl, ids->max_wl, ns, name, is_new);
}

uint32_t ids_service(struct ids *ids, const char *ns, const char *name, bool *is_new)
{
	return ids_get(&ids->svc, &ids->next_svc, ids->max_svc, ns, name, is_new);
}

uint32_t ids_find_workload(const struct ids *ids, const char *ns, const char *name)
{
	char key[512];

	ids_key(key, sizeof(key), ns, name);
	return (uint32_t)(uintptr_t)strmap_get(&ids->wl, key);
}

uint32_t ids_find_service(const struct ids *ids, const char *ns, const char *name)
{
	char key[512];

	ids_key(key, sizeof(key), ns, name);
	return (uint32_t)(uintptr_t)strmap_get(&ids->svc, key);
}
