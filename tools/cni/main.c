// SPDX-License-Identifier: Apache-2.0
/*
 * weir-cni: the chained CNI plugin (spec 1.0.0). Runs after the cluster's primary plugin,
 * passes its result through unchanged and tells the node agent over a unix socket which Pod
 * (name, namespace, netns, IP) just joined or left, so that the agent enrols it at once.
 * Whether an unreachable agent fails the Pod is the network config's failPolicy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/cni.h"
#include "conf.h"
#include "lib/log.h"

/* Network configs are a few hundred bytes; a megabyte is garbage or an attack. */
#define MAIN_STDIN_MAX (1 << 20)

/* Reads all of stdin into a NUL-terminated heap buffer. Returns 0, -EFBIG or -errno. */
static int stdin_read(char **out, size_t *outlen)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1), *nbuf;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= MAIN_STDIN_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			nbuf = realloc(buf, cap + 1);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			free(buf);
			return (int)n;
		}
		len += n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Prints the CNI error object for <e> on stdout. Returns the process exit status. */
static int error_print(const char *version, const struct conf_error *e)
{
	json_t *o;

	o = json_pack("{s:s, s:i, s:s}", "cniVersion", version ? version : "1.0.0", "code", e->code,
		      "msg", e->msg);
	if (o && e->details[0])
		json_object_set_new(o, "details", json_string(e->details));
	if (o) {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
	} else {
		printf("{\"code\":%d,\"msg\":\"out of memory\"}", e->code);
	}
	putchar('\n');
	fflush(stdout);
	return 1;
}

/* Prints prevResult as this plugin's result, with the config's cniVersion. */
static int result_print(const struct conf *c)
{
	json_t *r = json_deep_copy(c->prev_result);
	int rc;

	if (!r || json_object_set_new(r, "cniVersion", json_string(c->cni_version))) {
		json_decref(r);
		return -ENOMEM;
	}
	rc = json_dumpf(r, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	if (rc || putchar('\n') == EOF || fflush(stdout))
		return -EIO;
	return 0;
}

/* Maps a cni_pod_validate() message, which names protocol keys, to the variable it came from. */
static const char *env_name(const char *why)
{
	static const struct {
		const char *key, *var;
	} map[] = {
	    {"containerId:", "CNI_CONTAINERID"}, {"netns:", "CNI_NETNS"},
	    {"ifname:", "CNI_IFNAME"},		 {"namespace:", "CNI_ARGS K8S_POD_NAMESPACE"},
	    {"name:", "CNI_ARGS K8S_POD_NAME"},	 {"uid:", "CNI_ARGS K8S_POD_UID"},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(why, map[i].key, strlen(map[i].key)))
			return map[i].var;
	return "environment";
}

static char *field_of(struct cni_pod *pod, const char *why)
{
	if (!strncmp(why, "namespace:", 10))
		return pod->ns;
	if (!strncmp(why, "name:", 5))
		return pod->name;
	if (!strncmp(why, "uid:", 4))
		return pod->uid;
	return NULL;
}

/*
 * Builds the Pod from the CNI_* environment. The runtime's own variables must be right
 * (error 4); the Kubernetes names in CNI_ARGS only help the agent, so a bad one is dropped with
 * a warning unless failPolicy is closed and the Pod is being added or checked.
 */
static int env_pod(enum cni_op op, const struct conf *c, struct cni_pod *pod, struct conf_error *e)
{
	const char *id = getenv("CNI_CONTAINERID"), *netns = getenv("CNI_NETNS");
	const char *ifname = getenv("CNI_IFNAME"), *args = getenv("CNI_ARGS");
	bool strict = c->fail_closed && op != CNI_OP_DEL;
	char why[256];
	char *f;
	int i;

	memset(pod, 0, sizeof(*pod));
	if (!id || !id[0] || !ifname || !ifname[0] || (op != CNI_OP_DEL && (!netns || !netns[0]))) {
		conf_error_set(e, CONF_E_ENV, "invalid environment variables", "%s: missing",
			       !id || !id[0]	       ? "CNI_CONTAINERID"
			       : !ifname || !ifname[0] ? "CNI_IFNAME"
						       : "CNI_NETNS");
		return -EINVAL;
	}
	if (snprintf(pod->container_id, sizeof(pod->container_id), "%s", id) >=
		(int)sizeof(pod->container_id) ||
	    snprintf(pod->ifname, sizeof(pod->ifname), "%s", ifname) >= (int)sizeof(pod->ifname) ||
	    snprintf(pod->netns, sizeof(pod->netns), "%s", netns ? netns : "") >=
		(int)sizeof(pod->netns)) {
		conf_error_set(e, CONF_E_ENV, "invalid environment variables",
			       "CNI_CONTAINERID, CNI_IFNAME or CNI_NETNS is too long");
		return -EINVAL;
	}
	if (conf_args_parse(args, pod, why, sizeof(why))) {
		if (strict)
			goto out_bad;
		log_warn("cni", "ignoring %s", why);
	}
	/* Validation as for DEL (netns and ip optional): those two are checked by the caller.
	 * Each failing Kubernetes name is dropped in turn, at most three of them. */
	for (i = 0; i < 4; i++) {
		if (!cni_pod_validate(op == CNI_OP_DEL ? CNI_OP_DEL : CNI_OP_CHECK, pod, why,
				      sizeof(why)))
			return 0;
		f = field_of(pod, why);
		if (!f || strict)
			goto out_bad;
		log_warn("cni", "ignoring %s: %s", env_name(why), why);
		f[0] = '\0';
	}
out_bad:
	conf_error_set(e, CONF_E_ENV, "invalid environment variables", "%s: %s", env_name(why),
		       why);
	return -EINVAL;
}

/*
 * Turns the outcome <rc> of a call to the agent into the plugin's outcome: 0 to go on, or
 * -1 with <e> filled. A refusal always fails CHECK; otherwise failPolicy decides.
 */
static int agent_outcome(const struct conf *c, enum cni_op op, int rc, const char *err,
			 struct conf_error *e)
{
	if (!rc)
		return 0;
	if (rc == -EREMOTEIO && (c->fail_closed || op == CNI_OP_CHECK)) {
		conf_error_set(e, CONF_E_AGENT_REFUSED, "the weir agent refused the Pod", "%s",
			       err);
		return -1;
	}
	if (!c->fail_closed) {
		log_warn("cni",
			 "%s: %s; going on (failPolicy open: the agent finds the Pod by its IP)",
			 cni_op_name(op), err);
		return 0;
	}
	if (rc == -EPROTO)
		conf_error_set(e, CONF_E_AGENT_PROTO, "the weir agent sent a malformed reply", "%s",
			       err);
	else
		conf_error_set(e, CONF_E_TRY_AGAIN, "the weir agent is not reachable",
			       "%s (failPolicy closed)", err);
	return -1;
}

/* The Pod's address from prevResult into <pod>. Returns 0, 1 when there is none to give
 * (failPolicy decides), -1 with <e> filled when prevResult is malformed. */
static int prev_ip(const struct conf *c, struct cni_pod *pod, struct conf_error *e)
{
	char why[256];
	int rc;

	rc = conf_pod_ip(c->prev_result, &pod->ip, why, sizeof(why));
	if (rc == -ENOENT)
		return 1;
	/* DEL's rules check the address without requiring a netns, which DEL may lack. */
	if (!rc && cni_pod_validate(CNI_OP_DEL, pod, why, sizeof(why)))
		rc = -EINVAL; /* e.g. a loopback address */
	if (rc) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config", "%s", why);
		return -1;
	}
	return 0;
}

static int cmd_add(const struct conf *c, struct cni_pod *pod, struct conf_error *e)
{
	char err[512];
	int rc;

	if (!c->prev_result) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config",
			       "prevResult: missing (weir-cni is a chained plugin: list it after "
			       "the plugin that creates the Pod's interface)");
		return -1;
	}
	rc = prev_ip(c, pod, e);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		if (c->fail_closed) {
			conf_error_set(e, CONF_E_NO_IPV4, "no IPv4 address to enrol",
				       "prevResult.ips holds no IPv4 address (failPolicy closed)");
			return -1;
		}
		log_warn("cni", "add: prevResult holds no IPv4 address; Pod not enrolled");
	} else {
		rc = cni_call(c->socket, CNI_OP_ADD, pod, c->timeout_ms, err, sizeof(err));
		if (agent_outcome(c, CNI_OP_ADD, rc, err, e))
			return -1;
	}
	if (result_print(c)) {
		conf_error_set(e, CONF_E_IO, "I/O failure", "writing the result to stdout failed");
		return -1;
	}
	return 0;
}

/* DEL must succeed for anything already gone (CNI spec): every agent problem is a warning. */
static int cmd_del(const struct conf *c, struct cni_pod *pod)
{
	char err[512];
	int rc;

	if (c->prev_result && prev_ip(c, pod, &(struct conf_error){0}) != 0)
		pod->ip = 0; /* the address is a hint for the agent, the container ID the key */
	rc = cni_call(c->socket, CNI_OP_DEL, pod, c->timeout_ms, err, sizeof(err));
	if (rc)
		log_warn("cni", "del: %s; nothing to undo here", err);
	return 0;
}

static int cmd_check(const struct conf *c, struct cni_pod *pod, struct conf_error *e)
{
	char err[512];
	int rc;

	if (!conf_version_ok(c->cni_version, true)) {
		conf_error_set(e, CONF_E_VERSION, "incompatible CNI version",
			       "CHECK needs cniVersion 0.4.0 or later, the config has %s",
			       c->cni_version);
		return -1;
	}
	if (c->prev_result && prev_ip(c, pod, e) < 0)
		return -1;
	rc = cni_call(c->socket, CNI_OP_CHECK, pod, c->timeout_ms, err, sizeof(err));
	return agent_outcome(c, CNI_OP_CHECK, rc, err, e);
}

int main(void)
{
	const char *cmd = getenv("CNI_COMMAND");
	struct conf_error e = {0};
	struct conf c = {0};
	struct cni_pod pod;
	enum cni_op op;
	size_t len = 0;
	char *buf = NULL;
	int rc;

	log_init("weir-cni", LOG_WARN);
	if (cmd && !strcmp(cmd, "VERSION")) {
		/* No need to read the runtime's {"cniVersion":...}: the answer is the same. */
		printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":" CONF_SUPPORTED_VERSIONS
		       "}\n");
		return fflush(stdout) ? 1 : 0;
	}
	rc = stdin_read(&buf, &len);
	if (rc) {
		conf_error_set(&e, CONF_E_IO, "I/O failure", "reading the network config: %s",
			       rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		return error_print(NULL, &e);
	}
	if (conf_parse(buf, len, &c, &e)) {
		free(buf);
		return error_print(NULL, &e);
	}
	free(buf);

	if (cmd && !strcmp(cmd, "ADD")) {
		op = CNI_OP_ADD;
	} else if (cmd && !strcmp(cmd, "DEL")) {
		op = CNI_OP_DEL;
	} else if (cmd && !strcmp(cmd, "CHECK")) {
		op = CNI_OP_CHECK;
	} else {
		conf_error_set(&e, CONF_E_ENV, "invalid environment variables",
			       "CNI_COMMAND: %s%.32s%s", cmd ? "unknown command \"" : "missing",
			       cmd ? cmd : "", cmd ? "\"" : "");
		goto out_error;
	}
	if (env_pod(op, &c, &pod, &e))
		goto out_error;
	switch (op) {
	case CNI_OP_ADD:
		rc = cmd_add(&c, &pod, &e);
		break;
	case CNI_OP_DEL:
		rc = cmd_del(&c, &pod);
		break;
	case CNI_OP_CHECK:
		rc = cmd_check(&c, &pod, &e);
		break;
	}
	if (rc)
		goto out_error;
	conf_fini(&c);
	return 0;

out_error:
	rc = error_print(c.cni_version, &e);
	conf_fini(&c);
	return rc;
}
