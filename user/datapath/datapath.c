// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's handle on the kernel datapath (datapath.h): loads the skeleton with every
 * map pinned by name under the bpffs directory, keeps the cgroup hooks as pinned links
 * that a restarted agent re-points at its new programs, attaches tc to Pod veths, and
 * wraps the map writes the control thread makes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <weir/maps.h>

#include "datapath/datapath.h"
#include "lib/path.h"
#include "lib/log.h"
#include "datapath/netns.h"
#include "weir.skel.h"

#define MOD "datapath"

/* Set around calls whose expected failures libbpf would log as warnings. */
static __thread bool dp_log_quiet;

struct datapath {
	struct weir *skel;
	struct bpf_link *iter;	/* weir_iter_tcp, unpinned: only the running agent flushes */
	char dir[PATH_MAX / 2]; /* room left for the pin names in PATH_MAX */
	int map_fds[DP_MAP_MAX];
};

/*
 * Pins of maps whose layout changed and that took a new name: nothing reads them any
 * more, so they are removed on sight (open and uninstall) instead of lingering forever.
 */
static const char *const dp_retired_pins[] = {
    "weir_socks", /* struct weir_sock before its flush ledger; now weir_sockstate */
};

/* Unlinks the retired pins under <dir>; a missing one is fine. */
static void dp_unpin_retired(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(dp_retired_pins) / sizeof(dp_retired_pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dp_retired_pins[i]);
		if (unlink(path) == 0)
			log_info(MOD, "removed the retired pin %s", path);
		else if (errno != ENOENT)
			log_warn(MOD, "cannot remove the retired pin %s: %s", path,
				 strerror(errno));
	}
}

/* The cgroup hooks, each with its pinned link. */
struct dp_hook {
	const char *pin; /* WEIR_LINK_* */
	enum bpf_attach_type type;
	size_t prog_off; /* offsetof the program in the skeleton's progs */
};

#define DP_PROG(name) offsetof(struct weir, progs.name)

static const struct dp_hook dp_hooks[] = {
    {WEIR_LINK_CONNECT4, BPF_CGROUP_INET4_CONNECT, DP_PROG(weir_connect4)},
    {WEIR_LINK_GETPEERNAME, BPF_CGROUP_INET4_GETPEERNAME, DP_PROG(weir_getpeer4)},
    {WEIR_LINK_GETSOCKOPT, BPF_CGROUP_GETSOCKOPT, DP_PROG(weir_getsockopt)},
    {WEIR_LINK_SOCKOPS, BPF_CGROUP_SOCK_OPS, DP_PROG(weir_sockops)},
};

static struct bpf_program *dp_hook_prog(const struct datapath *dp, const struct dp_hook *h)
{
	return *(struct bpf_program **)((char *)dp->skel + h->prog_off);
}

/*
 * libbpf speaks through one global callback. Its warnings (the verifier log of a
 * failed load among them) go to the agent's log; its chatter only at debug level.
 */
static int dp_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *text, *line, *save = NULL;

	if (dp_log_quiet || vasprintf(&text, fmt, ap) < 0)
		return 0;
	/* One log line per line of text: the verifier log arrives as one message. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (level == LIBBPF_WARN)
			log_warn("libbpf", "%s", line);
		else
			log_debug("libbpf", "%s", line);
	}
	free(text);
	return 0;
}

/*
 * Makes sure <dir> exists on a bpf filesystem: pins elsewhere fail with EPERM deep in
 * libbpf, which says nothing useful to an operator. The nearest existing ancestor is
 * checked before anything is created, so a wrong path leaves no directories behind.
 * Returns 0 or -errno, logged.
 */
static int dp_prepare_dir(const char *dir)
{
	char probe[PATH_MAX];
	struct statfs st;
	char *slash;
	int err;

	snprintf(probe, sizeof(probe), "%s", dir);
	while (statfs(probe, &st)) {
		if (errno != ENOENT) {
			err = -errno;
			log_err(MOD, "statfs %s: %s", probe, strerror(errno));
			return err;
		}
		slash = strrchr(probe, '/');
		if (!slash || slash == probe) {
			snprintf(probe, sizeof(probe), "/");
			continue;
		}
		*slash = '\0';
	}
	if (st.f_type != BPF_FS_MAGIC) {
		log_err(MOD,
			"%s is not on a bpf filesystem, so it cannot hold pins (%s is not "
			"bpffs; mount one: mount -t bpf bpf /sys/fs/bpf)",
			dir, probe);
		return -ENOTSUP;
	}
	err = path_mkdirs(dir, 0700);
	if (err) {
		log_err(MOD, "cannot create pin directory %s: %s", dir, strerror(-err));
		return err;
	}
	return 0;
}

/* The cgroup id of the cgroup2 directory <path> (its inode number). Returns 0 or -errno. */
static int dp_cgroup_id(const char *path, __u64 *id)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

/*
 * Attaches hook <h> of <dp> to <cg_fd> (cgroup id <cg_id>, path <cg_path>). A pinned link
 * from an earlier run on the same cgroup is re-pointed at the new program in place
 * (bpf_link_update), so connections never pass an unhooked moment. A pinned link on
 * another cgroup means the operator moved the agent's cgroup: the new link is created
 * and pinned first, then the old one is detached, so the old cgroup is not left hooked.
 * Returns 0 or -errno, logged.
 */
static int dp_attach_hook(struct datapath *dp, const struct dp_hook *h, int cg_fd, __u64 cg_id,
			  const char *cg_path)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX], tmp[PATH_MAX];
	int prog_fd = bpf_program__fd(dp_hook_prog(dp, h));
	int old_fd, link_fd, err;

	snprintf(path, sizeof(path), "%s/%s", dp->dir, h->pin);
	old_fd = bpf_obj_get(path);
	if (old_fd >= 0) {
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(old_fd, &info, &len)) {
			err = -errno;
			log_err(MOD, "link %s: cannot read its info: %s", path, strerror(errno));
			goto out_close_old;
		}
		if (info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == cg_id &&
		    info.cgroup.attach_type == h->type) {
			if (bpf_link_update(old_fd, prog_fd, NULL)) {
				err = -errno;
				log_err(MOD, "link %s: cannot switch to the new program: %s", path,
					strerror(errno));
				goto out_close_old;
			}
			close(old_fd);
			return 0;
		}
		log_warn(MOD, "link %s is attached to another cgroup (id %llu); moving it to %s",
			 path, (unsigned long long)info.cgroup.cgroup_id, cg_path);
	} else if (errno != ENOENT) {
		err = -errno;
		log_err(MOD, "cannot open pinned link %s: %s", path, strerror(errno));
		return err;
	}

	link_fd = bpf_link_create(prog_fd, cg_fd, h->type, NULL);
	if (link_fd < 0) {
		err = -errno;
		log_err(MOD, "cannot attach %s to cgroup %s: %s", h->pin, cg_path, strerror(errno));
		goto out_close_old;
	}
	/* Pin under a temporary name and rename over the old pin: never a missing pin. */
	snprintf(tmp, sizeof(tmp), "%s/new_%s", dp->dir,
		 h->pin); /* bpffs refuses names with dots */
	unlink(tmp);
	if (bpf_obj_pin(link_fd, tmp) || rename(tmp, path)) {
		err = -errno;
		log_err(MOD, "cannot pin link %s: %s", path, strerror(errno));
		unlink(tmp);
		bpf_link_detach(link_fd);
		close(link_fd);
		goto out_close_old;
	}
	close(link_fd);
	err = 0;
	if (old_fd >= 0 && bpf_link_detach(old_fd))
		log_warn(MOD, "cannot detach the old link of %s: %s", h->pin, strerror(errno));
out_close_old:
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

/* Attaches every cgroup hook of <dp> to <cg_path>. Returns 0 or -errno, logged. */
static int dp_attach_cgroup(struct datapath *dp, const char *cg_path)
{
	__u64 cg_id = 0;
	size_t i;
	int cg_fd, err;

	cg_fd = open(cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		log_err(MOD, "cannot open cgroup %s: %s", cg_path, strerror(errno));
		return err;
	}
	err = dp_cgroup_id(cg_path, &cg_id);
	if (err) {
		log_err(MOD, "cannot stat cgroup %s: %s", cg_path, strerror(-err));
		goto out_close_cg;
	}
	for (i = 0; i < sizeof(dp_hooks) / sizeof(dp_hooks[0]); i++) {
		err = dp_attach_hook(dp, &dp_hooks[i], cg_fd, cg_id, cg_path);
		if (err)
			break;
	}
out_close_cg:
	close(cg_fd);
	return err;
}

struct datapath *datapath_open(const struct datapath_opts *opts)
{
	struct bpf_object_open_opts oopts = {.sz = sizeof(oopts)};
	struct datapath *dp;
	int err, fd;

	libbpf_set_print(dp_libbpf_print);
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	if (snprintf(dp->dir, sizeof(dp->dir), "%s",
		     opts->bpffs_dir ? opts->bpffs_dir : WEIR_BPFFS_DEFAULT) >=
	    (int)sizeof(dp->dir)) {
		err = -ENAMETOOLONG;
		goto out_free;
	}
	err = dp_prepare_dir(dp->dir);
	if (err)
		goto out_free;

	oopts.pin_root_path = dp->dir;
	dp->skel = weir__open_opts(&oopts);
	if (!dp->skel) {
		err = -errno;
		log_err(MOD, "cannot open the BPF object: %s", strerror(errno));
		goto out_free;
	}
	dp->skel->rodata->weir_cfg = opts->cfg;
	err = weir__load(dp->skel);
	if (err) {
		/* libbpf logged the verifier's output above through dp_libbpf_print. */
		log_err(MOD, "cannot load the BPF programs (pins under %s): %s", dp->dir,
			strerror(-err));
		goto out_destroy;
	}

	err = dp_attach_cgroup(dp, opts->cgroup_path);
	if (err)
		goto out_destroy;

	/* Replaces an earlier run's program; sockets already in the map keep theirs. */
	fd = bpf_map__fd(dp->skel->maps.weir_sockhash);
	if (bpf_prog_attach(bpf_program__fd(dp->skel->progs.weir_skmsg), fd, BPF_SK_MSG_VERDICT,
			    0)) {
		err = -errno;
		log_err(MOD, "cannot attach sk_msg to weir_sockhash: %s", strerror(errno));
		goto out_destroy;
	}

	/* The programs that used the retired maps were just replaced (bpf_link_update). */
	dp_unpin_retired(dp->dir);

	dp->iter = bpf_program__attach_iter(dp->skel->progs.weir_iter_tcp, NULL);
	if (!dp->iter) {
		err = -errno;
		log_err(MOD, "cannot attach the tcp iterator: %s", strerror(errno));
		goto out_destroy;
	}

	dp->map_fds[DP_MAP_NETNS] = bpf_map__fd(dp->skel->maps.weir_netns);
	dp->map_fds[DP_MAP_IPS] = bpf_map__fd(dp->skel->maps.weir_ips);
	dp->map_fds[DP_MAP_SERVICES] = bpf_map__fd(dp->skel->maps.weir_services);
	dp->map_fds[DP_MAP_WL_INFO] = bpf_map__fd(dp->skel->maps.weir_wl_info);
	dp->map_fds[DP_MAP_SVC_INFO] = bpf_map__fd(dp->skel->maps.weir_svc_info);
	dp->map_fds[DP_MAP_EDGES] = bpf_map__fd(dp->skel->maps.weir_edges);
	dp->map_fds[DP_MAP_ORIGDST] = bpf_map__fd(dp->skel->maps.weir_origdst);
	dp->map_fds[DP_MAP_DENY] = bpf_map__fd(dp->skel->maps.weir_deny);
	dp->map_fds[DP_MAP_REASONS] = bpf_map__fd(dp->skel->maps.weir_reasons);
	log_info(MOD, "datapath loaded, pins under %s, cgroup hooks on %s", dp->dir,
		 opts->cgroup_path);
	return dp;

out_destroy:
	weir__destroy(dp->skel);
out_free:
	free(dp);
	errno = -err;
	return NULL;
}

void datapath_close(struct datapath *dp)
{
	if (!dp)
		return;
	bpf_link__destroy(dp->iter);
	weir__destroy(dp->skel);
	free(dp);
}

int datapath_uninstall(const char *bpffs_dir)
{
	struct bpf_object_open_opts oopts = {.sz = sizeof(oopts)};
	const char *links[] = {WEIR_LINK_CONNECT4, WEIR_LINK_GETPEERNAME, WEIR_LINK_GETSOCKOPT,
			       WEIR_LINK_SOCKOPS};
	char path[PATH_MAX];
	struct bpf_map *map;
	struct weir *skel;
	const char *pin;
	size_t i;
	int fd, err = 0;

	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", bpffs_dir, links[i]);
		/* Detach explicitly: a datapath still open elsewhere would keep it alive. */
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}

	dp_unpin_retired(bpffs_dir);
	/* The skeleton, opened but not loaded, knows every pinned map's path. */
	oopts.pin_root_path = bpffs_dir;
	skel = weir__open_opts(&oopts);
	if (!skel)
		return -errno;
	bpf_object__for_each_map(map, skel->obj)
	{
		pin = bpf_map__pin_path(map);
		if (pin && unlink(pin) && errno != ENOENT && !err)
			err = -errno;
	}
	weir__destroy(skel);
	if (rmdir(bpffs_dir) && errno != ENOENT && !err) {
		err = -errno;
		log_warn(MOD, "cannot remove %s: %s", bpffs_dir, strerror(errno));
	}
	return err;
}

/* Attaches <prog_fd> at <point> of <ifindex> as weir's filter. Returns 0 or -errno. */
static int dp_tc_attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	struct bpf_tc_hook hook = {.sz = sizeof(hook), .ifindex = ifindex, .attach_point = point};
	struct bpf_tc_opts tc = {.sz = sizeof(tc),
				 .handle = WEIR_TC_HANDLE,
				 .priority = WEIR_TC_PRIO,
				 .prog_fd = prog_fd,
				 .flags = BPF_TC_F_REPLACE};
	int err;

	/* An existing clsact (EEXIST) is the common case: keep libbpf from warning about it. */
	dp_log_quiet = true;
	err = bpf_tc_hook_create(&hook);
	dp_log_quiet = false;
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &tc);
}

int datapath_tc_attach(struct datapath *dp, int ifindex)
{
	int err;

	/* The host side's ingress is what the Pod sends, its egress what the Pod receives. */
	err = dp_tc_attach_one(ifindex, BPF_TC_INGRESS,
			       bpf_program__fd(dp->skel->progs.weir_tc_egress));
	if (!err)
		err = dp_tc_attach_one(ifindex, BPF_TC_EGRESS,
				       bpf_program__fd(dp->skel->progs.weir_tc_ingress));
	if (err)
		log_err(MOD, "cannot attach tc to ifindex %d: %s", ifindex, strerror(-err));
	return err;
}

int datapath_tc_detach(struct datapath *dp, int ifindex)
{
	enum bpf_tc_attach_point points[] = {BPF_TC_INGRESS, BPF_TC_EGRESS};
	size_t i;
	int err, ret = 0;

	(void)dp;
	for (i = 0; i < 2; i++) {
		struct bpf_tc_hook hook = {
		    .sz = sizeof(hook), .ifindex = ifindex, .attach_point = points[i]};
		struct bpf_tc_opts tc = {
		    .sz = sizeof(tc), .handle = WEIR_TC_HANDLE, .priority = WEIR_TC_PRIO};

		dp_log_quiet = true; /* a missing filter or device is fine here */
		err = bpf_tc_detach(&hook, &tc);
		dp_log_quiet = false;
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL && !ret)
			ret = err;
	}
	return ret;
}

/* One map write: 0 or -errno. */
static int dp_update(const struct datapath *dp, enum datapath_map m, const void *key,
		     const void *val)
{
	return bpf_map_update_elem(dp->map_fds[m], key, val, BPF_ANY) ? -errno : 0;
}

static int dp_delete(const struct datapath *dp, enum datapath_map m, const void *key)
{
	return bpf_map_delete_elem(dp->map_fds[m], key) ? -errno : 0;
}

int datapath_pod_set(struct datapath *dp, uint64_t netns_cookie, const struct weir_pod *pod)
{
	__u64 key = netns_cookie;

	return dp_update(dp, DP_MAP_NETNS, &key, pod);
}

int datapath_pod_del(struct datapath *dp, uint64_t netns_cookie)
{
	__u64 key = netns_cookie;

	return dp_delete(dp, DP_MAP_NETNS, &key);
}

int datapath_ip_set(struct datapath *dp, uint32_t ip_be, const struct weir_ip *val)
{
	return dp_update(dp, DP_MAP_IPS, &ip_be, val);
}

int datapath_ip_del(struct datapath *dp, uint32_t ip_be)
{
	return dp_delete(dp, DP_MAP_IPS, &ip_be);
}

int datapath_svc_set(struct datapath *dp, const struct weir_svc_key *key,
		     const struct weir_svc *svc)
{
	return dp_update(dp, DP_MAP_SERVICES, key, svc);
}

int datapath_svc_del(struct datapath *dp, const struct weir_svc_key *key)
{
	return dp_delete(dp, DP_MAP_SERVICES, key);
}

int datapath_wl_info_set(struct datapath *dp, uint32_t id, const struct weir_wl_info *info)
{
	return dp_update(dp, DP_MAP_WL_INFO, &id, info);
}

int datapath_svc_info_set(struct datapath *dp, uint32_t id, const struct weir_svc_info *info)
{
	return dp_update(dp, DP_MAP_SVC_INFO, &id, info);
}

int datapath_deny_set(struct datapath *dp, const struct weir_deny_key *key, uint32_t rule)
{
	return dp_update(dp, DP_MAP_DENY, key, &rule);
}

int datapath_deny_del(struct datapath *dp, const struct weir_deny_key *key)
{
	return dp_delete(dp, DP_MAP_DENY, key);
}

int datapath_edge_add(struct datapath *dp, const struct weir_edge_key *key,
		      const struct weir_edge *delta)
{
	struct weir_edge e;

	if (bpf_map_lookup_elem(dp->map_fds[DP_MAP_EDGES], key, &e)) {
		if (errno != ENOENT)
			return -errno;
		memset(&e, 0, sizeof(e));
	}
	e.conns_opened += delta->conns_opened;
	e.conns_closed += delta->conns_closed;
	e.conns_active += delta->conns_active;
	e.bytes_sent += delta->bytes_sent;
	e.bytes_rcvd += delta->bytes_rcvd;
	e.pkts_sent += delta->pkts_sent;
	e.pkts_rcvd += delta->pkts_rcvd;
	e.srtt_us_sum += delta->srtt_us_sum;
	e.srtt_samples += delta->srtt_samples;
	if (delta->last_ns > e.last_ns)
		e.last_ns = delta->last_ns;
	return dp_update(dp, DP_MAP_EDGES, key, &e);
}

/* bpf_iter_create() for netns_run(): the iterator's netns is its creator's. */
struct dp_iter_new {
	int link_fd;
	int iter_fd;
};

static int dp_iter_new(void *arg)
{
	struct dp_iter_new *n = arg;

	n->iter_fd = bpf_iter_create(n->link_fd);
	return n->iter_fd < 0 ? -errno : 0;
}

int datapath_flush_netns(struct datapath *dp, const char *netns_path,
			 struct datapath_flush_stats *st)
{
	struct dp_iter_new n = {.link_fd = bpf_link__fd(dp->iter), .iter_fd = -1};
	struct datapath_flush_stats tmp = {0};
	char buf[4096];
	ssize_t len, i;
	int err;

	err = netns_path ? netns_run(netns_path, dp_iter_new, &n) : dp_iter_new(&n);
	if (err)
		return err;
	/* Reading runs the program; back home already, since the netns is fixed at create. */
	for (;;) {
		len = read(n.iter_fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) {
			err = -errno;
			break;
		}
		if (len == 0)
			break;
		for (i = 0; i < len; i++) {
			tmp.sockets++;
			tmp.flushed += buf[i] == WEIR_FLUSH_ADDED;
			tmp.failed += buf[i] == WEIR_FLUSH_FAILED;
		}
	}
	close(n.iter_fd);
	if (st)
		*st = tmp;
	return err;
}

int datapath_map_fd(const struct datapath *dp, enum datapath_map which)
{
	if (!dp || which < 0 || which >= DP_MAP_MAX)
		return -1;
	return dp->map_fds[which] > 0 ? dp->map_fds[which] : -1;
}
