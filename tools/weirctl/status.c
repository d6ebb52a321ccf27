// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl status`: is the datapath in place? Every map of the ABI (pinned or not, entry
 * counts), the four cgroup link pins and the programs they run, the non-zero datapath
 * reason counters, and whether the agent answers on its admin API. Only the pins decide
 * the exit status: a node whose agent is down still has a working datapath.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <weir/maps.h>

#include "ctl.h"

static const char *const status_links[] = {
    WEIR_LINK_CONNECT4,
    WEIR_LINK_GETPEERNAME,
    WEIR_LINK_GETSOCKOPT,
    WEIR_LINK_SOCKOPS,
};

/* Decoder of a weir_reasons key: {"slot", "hook", "reason"} (names null past the enums). */
json_t *status_json_reason_slot(uint32_t slot)
{
	json_t *o = json_object();
	const char *hook = ctl_hook_name(slot / WEIR_R_MAX);
	const char *reason = ctl_reason_name(slot % WEIR_R_MAX);

	if (!o)
		return NULL;
	ctl_set(o, "slot", json_integer(slot));
	ctl_set(o, "hook", hook ? json_string(hook) : json_null());
	ctl_set(o, "reason", reason ? json_string(reason) : json_null());
	return o;
}

/* Sum of a per-CPU __u64 value as user space reads it (<len> bytes, 8 per CPU). */
uint64_t status_reason_sum(const void *percpu, size_t len)
{
	const unsigned char *p = percpu;
	uint64_t sum = 0, v;
	size_t i;

	for (i = 0; i + sizeof(v) <= len; i += sizeof(v)) {
		memcpy(&v, p + i, sizeof(v));
		sum += v;
	}
	return sum;
}

/* One map of the ABI: {"name", "present", ...kernel description, "entries"}. */
static json_t *status_map(const char *name, bool *any)
{
	struct ctl_map_desc d;
	json_t *o = json_object();
	const char *type;
	long count;
	int fd, err;

	if (!o)
		return NULL;
	ctl_set(o, "name", json_string(name));
	fd = ctl_map_open(name);
	ctl_set(o, "present", json_boolean(fd >= 0));
	if (fd < 0) {
		if (fd != -ENOENT)
			ctl_set(o, "error",
				json_string(fd == -ENOTTY ? "not a BPF map" : strerror(-fd)));
		return o;
	}
	*any = true;
	err = ctl_map_desc(fd, &d);
	if (err) {
		ctl_set(o, "error", json_string(strerror(-err)));
		goto out_close;
	}
	type = libbpf_bpf_map_type_str(d.type);
	ctl_set(o, "id", json_integer(d.id));
	ctl_set(o, "type", type ? json_string(type) : json_integer(d.type));
	ctl_set(o, "key_size", json_integer(d.key_size));
	ctl_set(o, "value_size", json_integer(d.value_size));
	ctl_set(o, "max_entries", json_integer(d.max_entries));
	/* sk_storage has no keys user space can walk: present is all we can say. */
	count = ctl_map_count(fd, &d);
	ctl_set(o, "entries", count >= 0 ? json_integer(count) : json_null());
out_close:
	close(fd);
	return o;
}

/* The program a link runs: {"prog_id", "prog_name"} into <o>. */
static void status_link_prog(json_t *o, uint32_t prog_id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd;

	ctl_set(o, "prog_id", json_integer(prog_id));
	memset(&info, 0, sizeof(info));
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		ctl_set(o, "prog_name", json_string(info.name));
	else
		ctl_set(o, "prog_name", json_null());
	if (fd >= 0)
		close(fd);
}

/* One link pin: {"name", "present", "id", "type", "attach_type", "cgroup_id", "prog_*"}. */
static json_t *status_link(const char *name, bool *any)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	json_t *o = json_object();
	const char *s;
	int fd;

	if (!o)
		return NULL;
	ctl_set(o, "name", json_string(name));
	fd = ctl_obj_open(name, PIN_LINK);
	ctl_set(o, "present", json_boolean(fd >= 0));
	if (fd < 0) {
		if (fd != -ENOENT)
			ctl_set(o, "error",
				json_string(fd == -ENOTTY ? "not a BPF link" : strerror(-fd)));
		return o;
	}
	*any = true;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ctl_set(o, "error", json_string(strerror(errno)));
		goto out_close;
	}
	ctl_set(o, "id", json_integer(info.id));
	s = libbpf_bpf_link_type_str(info.type);
	ctl_set(o, "type", s ? json_string(s) : json_integer(info.type));
	if (info.type == BPF_LINK_TYPE_CGROUP) {
		s = libbpf_bpf_attach_type_str(info.cgroup.attach_type);
		ctl_set(o, "attach_type",
			s ? json_string(s) : json_integer(info.cgroup.attach_type));
		ctl_set(o, "cgroup_id", ctl_json_u64(info.cgroup.cgroup_id));
	}
	status_link_prog(o, info.prog_id);
out_close:
	close(fd);
	return o;
}

/* Non-zero reason counters as [{"slot", "hook", "reason", "count"}], or null if unpinned. */
static json_t *status_reasons(void)
{
	struct ctl_map_desc d;
	json_t *a = NULL, *o;
	void *val = NULL;
	uint32_t slot;
	uint64_t sum;
	int fd;

	fd = ctl_map_open("weir_reasons");
	if (fd < 0)
		return json_null();
	if (ctl_map_desc(fd, &d) || !d.percpu)
		goto out_close;
	val = malloc(d.value_len);
	a = json_array();
	if (!val || !a)
		goto out_close;
	for (slot = 0; slot < d.max_entries && slot < WEIR_REASON_SLOTS; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, val))
			continue;
		sum = status_reason_sum(val, d.value_len);
		if (!sum)
			continue;
		o = status_json_reason_slot(slot);
		if (o)
			ctl_set(o, "count", ctl_json_u64(sum));
		ctl_append(a, o);
	}
out_close:
	free(val);
	close(fd);
	return a ? a : json_null();
}

/*
 * GET http://<ctl.admin>/status. Returns the agent's JSON (verbatim, parsed; a non-JSON
 * body as a string), or JSON null when the agent does not answer, and then sets
 * <root>["agent_error"] to the reason.
 */
static json_t *status_agent(json_t *root)
{
	char err[CTL_ADMIN_ERR_LEN];
	json_t *j;

	ctl_set(root, "agent_error", json_null());
	if (!ctl.admin[0])
		return json_null();
	j = ctl_admin_get("/status", err, sizeof(err));
	if (!j)
		ctl_set(root, "agent_error", json_string(err));
	return j ? j : json_null();
}

static void status_print_text(const json_t *root)
{
	const json_t *a, *o, *agent;
	size_t i;

	printf("bpffs dir  %s\n", ctl_str(root, "bpffs_dir"));
	a = json_object_get(root, "maps");
	for (i = 0; i < json_array_size(a); i++) {
		o = json_array_get(a, i);
		if (!json_is_true(json_object_get(o, "present")))
			printf("map        %-16s missing\n", ctl_str(o, "name"));
		else if (json_is_integer(json_object_get(o, "entries")))
			printf("map        %-16s %-14s %lld entries\n", ctl_str(o, "name"),
			       ctl_str(o, "type"), ctl_int(o, "entries"));
		else
			printf("map        %-16s %-14s pinned\n", ctl_str(o, "name"),
			       ctl_str(o, "type"));
	}
	a = json_object_get(root, "links");
	for (i = 0; i < json_array_size(a); i++) {
		o = json_array_get(a, i);
		if (!json_is_true(json_object_get(o, "present")))
			printf("link       %-18s missing\n", ctl_str(o, "name"));
		else
			printf("link       %-18s prog %lld %s (%s)\n", ctl_str(o, "name"),
			       ctl_int(o, "prog_id"), ctl_str(o, "prog_name"),
			       ctl_str(o, "attach_type"));
	}
	a = json_object_get(root, "reasons");
	for (i = 0; i < json_array_size(a); i++) {
		o = json_array_get(a, i);
		printf("reason     %-14s %-14s %lld\n", ctl_str(o, "hook"), ctl_str(o, "reason"),
		       ctl_int(o, "count"));
	}
	agent = json_object_get(root, "agent");
	if (!ctl.admin[0])
		printf("agent      not asked\n");
	else
		printf("agent      %s %s%s%s\n", ctl.admin,
		       json_is_null(agent) ? "not answering" : "answering",
		       json_is_null(agent) ? ": " : "", ctl_str(root, "agent_error"));
}

int do_status(int argc, char **argv)
{
	json_t *root, *maps, *links;
	bool any = false;
	struct stat st;
	const char *name;
	size_t i;
	int rc;

	if (ctl_args_done(argc, argv, 0, false, &rc))
		return rc;
	if (stat(ctl.bpffs_dir, &st)) {
		ctl_err("%s: %s (is weir installed? see --bpffs-dir)", ctl.bpffs_dir,
			strerror(errno));
		return CTL_FAIL;
	}
	root = json_object();
	maps = json_array();
	links = json_array();
	if (!root || !maps || !links) {
		json_decref(root);
		json_decref(maps);
		json_decref(links);
		return ctl_print(NULL);
	}
	ctl_set(root, "bpffs_dir", json_string(ctl.bpffs_dir));
	ctl_set(root, "maps", maps);
	ctl_set(root, "links", links);
	for (i = 0; (name = map_weir_name(i)); i++)
		ctl_append(maps, status_map(name, &any));
	for (i = 0; i < sizeof(status_links) / sizeof(status_links[0]); i++)
		ctl_append(links, status_link(status_links[i], &any));
	if (!any) {
		json_decref(root);
		ctl_err("no weir pins under %s (is weir installed? see --bpffs-dir)",
			ctl.bpffs_dir);
		return CTL_FAIL;
	}
	ctl_set(root, "reasons", status_reasons());
	ctl_set(root, "admin", json_string(ctl.admin));
	ctl_set(root, "agent", status_agent(root));
	if (ctl.output == CTL_OUT_JSON)
		return ctl_print(root);
	status_print_text(root);
	json_decref(root);
	return CTL_OK;
}
