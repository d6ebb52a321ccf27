// SPDX-License-Identifier: Apache-2.0
/*
 * SCM_RIGHTS messages, declared in fdpass.h.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdpass.h"

int fdpass_send(int sock, const char *msg, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds < 0 || nfds > FDPASS_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int fdpass_recv(int sock, char *msg, size_t msglen, int *fds, int *nfds, int maxfds, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
	struct iovec iov = {.iov_base = msg, .iov_len = msglen - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct pollfd pf = {.fd = sock, .events = POLLIN};
	struct cmsghdr *cm;
	ssize_t n;
	int got = 0;

	if (nfds)
		*nfds = 0;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = poll(&pf, 1, timeout_ms);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return -errno;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	msg[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k, *p;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		p = (int *)CMSG_DATA(cm);
		for (int i = 0; i < k; i++) {
			if (fds && got < maxfds)
				fds[got++] = p[i];
			else
				close(p[i]); /* unasked for: never leak a descriptor */
		}
	}
	if (nfds)
		*nfds = got;
	return 0;
}
