// SPDX-License-Identifier: Apache-2.0
/*
 * The id tables of ids.h. Keys are "namespace/name"; a name longer than the info maps
 * hold still gets its own id here (the key is the full name), only its printed name is
 * truncated. The pins keep only that printed name, so after a restart a restored name that
 * fills its field is held apart and handed to the first longer name it is the head of.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/ids.h"

/* The printed name fields of weir_svc_info. */
#define IDS_SVC_NS_LEN	 sizeof(((struct weir_svc_info *)0)->ns)
#define IDS_SVC_NAME_LEN sizeof(((struct weir_svc_info *)0)->name)

void ids_init(struct ids *ids, uint32_t max_wl, uint32_t max_svc)
{
	memset(ids, 0, sizeof(*ids));
	strmap_init(&ids->wl);
	strmap_init(&ids->svc);
	strmap_init(&ids->wl_trunc);
	strmap_init(&ids->svc_trunc);
	ids->next_wl = ids->next_svc = 1;
	ids->max_wl = max_wl;
	ids->max_svc = max_svc;
}

void ids_fini(struct ids *ids)
{
	strmap_fini(&ids->wl, NULL);
	strmap_fini(&ids->svc, NULL);
	strmap_fini(&ids->wl_trunc, NULL);
	strmap_fini(&ids->svc_trunc, NULL);
}

static void ids_key(char *buf, size_t len, const char *ns, const char *name)
{
	snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
}

/* The key <ns>/<name> has when printed into info fields of <nslen> and <namelen> bytes. */
static void ids_key_trunc(char *buf, size_t len, const char *ns, const char *name, size_t nslen,
			  size_t namelen)
{
	snprintf(buf, len, "%.*s/%.*s", (int)nslen - 1, ns ? ns : "", (int)namelen - 1,
		 name ? name : "");
}

static int ids_restore(struct strmap *m, struct strmap *trunc, uint32_t *next, uint32_t id,
		       const char *ns, size_t nslen, const char *name, size_t namelen)
{
	char key[512];

	if (id == 0)
		return -EINVAL;
	ids_key(key, sizeof(key), ns, name);
	if (strmap_put(m, key, (void *)(uintptr_t)id, NULL) < 0)
		return -ENOMEM;
	/* A full field may hold the head of a longer name: that name claims the id later. */
	if ((strnlen(ns, nslen) == nslen - 1 || strnlen(name, namelen) == namelen - 1) &&
	    strmap_put(trunc, key, (void *)(uintptr_t)id, NULL) < 0)
		return -ENOMEM;
	if (id >= *next)
		*next = id + 1;
	return 0;
}

int ids_restore_wl(struct ids *ids, uint32_t id, const struct weir_wl_info *info)
{
	return ids_restore(&ids->wl, &ids->wl_trunc, &ids->next_wl, id, info->ns, sizeof(info->ns),
			   info->name, sizeof(info->name));
}

int ids_restore_svc(struct ids *ids, uint32_t id, const struct weir_svc_info *info)
{
	return ids_restore(&ids->svc, &ids->svc_trunc, &ids->next_svc, id, info->ns,
			   sizeof(info->ns), info->name, sizeof(info->name));
}

/*
 * The restored id whose printed (truncated) name <ns>/<name> overflows into, or 0. Its
 * truncated key is left in <trunc> until claimed.
 */
static uint32_t ids_trunc_find(const struct strmap *trunc, const char *ns, const char *name,
			       size_t nslen, size_t namelen, char *tkey, size_t tlen)
{
	if (!trunc->len || (strlen(ns ? ns : "") < nslen && strlen(name ? name : "") < namelen))
		return 0;
	ids_key_trunc(tkey, tlen, ns, name, nslen, namelen);
	return (uint32_t)(uintptr_t)strmap_get(trunc, tkey);
}

static uint32_t ids_get(struct strmap *m, struct strmap *trunc, uint32_t *next, uint32_t max,
			const char *ns, const char *name, size_t nslen, size_t namelen,
			bool *is_new)
{
	char key[512], tkey[512];
	uint32_t id;

	if (is_new)
		*is_new = false;
	ids_key(key, sizeof(key), ns, name);
	id = (uint32_t)(uintptr_t)strmap_get(m, key);
	if (id)
		return id;
	/* A name too long for the pins, known before the restart by its head only. */
	id = ids_trunc_find(trunc, ns, name, nslen, namelen, tkey, sizeof(tkey));
	if (id) {
		if (strmap_put(m, key, (void *)(uintptr_t)id, NULL) < 0)
			return 0;
		strmap_del(trunc, tkey);
		/* The head itself is no name of this id any more: a real name equal to it
		 * would be another workload. */
		if ((uint32_t)(uintptr_t)strmap_get(m, tkey) == id)
			strmap_del(m, tkey);
		return id;
	}
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
	return ids_get(&ids->wl, &ids->wl_trunc, &ids->next_wl, ids->max_wl, ns, name, WEIR_NS_LEN,
		       WEIR_NAME_LEN, is_new);
}

uint32_t ids_service(struct ids *ids, const char *ns, const char *name, bool *is_new)
{
	return ids_get(&ids->svc, &ids->svc_trunc, &ids->next_svc, ids->max_svc, ns, name,
		       IDS_SVC_NS_LEN, IDS_SVC_NAME_LEN, is_new);
}

uint32_t ids_find_workload(const struct ids *ids, const char *ns, const char *name)
{
	char key[512];
	uint32_t id;

	ids_key(key, sizeof(key), ns, name);
	id = (uint32_t)(uintptr_t)strmap_get(&ids->wl, key);
	return id ? id
		  : ids_trunc_find(&ids->wl_trunc, ns, name, WEIR_NS_LEN, WEIR_NAME_LEN, key,
				   sizeof(key));
}

uint32_t ids_find_service(const struct ids *ids, const char *ns, const char *name)
{
	char key[512];
	uint32_t id;

	ids_key(key, sizeof(key), ns, name);
	id = (uint32_t)(uintptr_t)strmap_get(&ids->svc, key);
	return id ? id
		  : ids_trunc_find(&ids->svc_trunc, ns, name, IDS_SVC_NS_LEN, IDS_SVC_NAME_LEN, key,
				   sizeof(key));
}
