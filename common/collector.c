/*
 * common/collector.c - the connection to the dnstap collector.
 *
 * \file
 * An fstrm_rdwr (libfstrm's I/O abstraction) over a Unix or TCP socket;
 * see collector.h for why the modules have their own.  Every method runs in
 * libfstrm's I/O thread, but ig_collector_shutdown, which runs in
 * the thread stopping the writer.
 */
#include "config.h"
#include "common/collector.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <unistd.h>

/** a TCP connect waits at most this long (ms) */
#define CONNECT_WAIT_MS 2000

/** connect fd, with a bounded wait for TCP; @return 1 connected */
static int
connect_bounded(int fd, const struct sockaddr* sa, socklen_t len)
{
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t el = sizeof(err);
	struct pollfd p;
	if(fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return 0;
	if(connect(fd, sa, len) != 0) {
		if(errno != EINPROGRESS) return 0;
		p.fd = fd;
		p.events = POLLOUT;
		if(poll(&p, 1, CONNECT_WAIT_MS) != 1 ||
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
			err != 0)
			return 0;
	}
	return fcntl(fd, F_SETFL, fl) == 0;
}

/** fstrm_rdwr open: connect to the collector */
static fstrm_res
col_open(void* obj)
{
	struct ig_collector* col = (struct ig_collector*)obj;
	int fd;
	if(atomic_load(&col->stopping)) return fstrm_res_failure;
	fd = socket(col->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if(fd < 0) return fstrm_res_failure;
	if(!connect_bounded(fd, (struct sockaddr*)&col->addr, col->addrlen)) {
		close(fd);
		return fstrm_res_failure;
	}
	pthread_mutex_lock(&col->lock);
	if(atomic_load(&col->stopping)) {
		pthread_mutex_unlock(&col->lock);
		close(fd);
		return fstrm_res_failure;
	}
	col->fd = fd;
	atomic_store(&col->connected, 1);
	pthread_mutex_unlock(&col->lock);
	ig_log(col->log, LOG_DEBUG, "icpguard: dnstap collector %s connected",
		col->name);
	return fstrm_res_success;
}

/** fstrm_rdwr close */
static fstrm_res
col_close(void* obj)
{
	struct ig_collector* col = (struct ig_collector*)obj;
	pthread_mutex_lock(&col->lock);
	if(col->fd >= 0) close(col->fd);
	col->fd = -1;
	atomic_store(&col->connected, 0);
	pthread_mutex_unlock(&col->lock);
	return fstrm_res_success;
}

/** fstrm_rdwr read: exactly count bytes (the collector's control frames) */
static fstrm_res
col_read(void* obj, void* data, size_t count)
{
	struct ig_collector* col = (struct ig_collector*)obj;
	uint8_t* p = (uint8_t*)data;
	while(count > 0) {
		ssize_t n = read(col->fd, p, count);
		if(n < 0 && errno == EINTR) continue;
		if(n <= 0) return fstrm_res_failure;
		p += n;
		count -= (size_t)n;
	}
	return fstrm_res_success;
}

/** fstrm_rdwr write: all of the iovecs (MSG_NOSIGNAL: a collector that
 * went away is an error here, not a SIGPIPE for Unbound) */
static fstrm_res
col_write(void* obj, const struct iovec* iov, int iovcnt)
{
	struct ig_collector* col = (struct ig_collector*)obj;
	int i = 0;
	size_t off = 0;
	while(i < iovcnt) {
		ssize_t w;
		size_t left;
		if(off > 0) {
			/* the rest of a partly written iovec */
			w = send(col->fd, (const uint8_t*)iov[i].iov_base + off,
				iov[i].iov_len - off, MSG_NOSIGNAL);
		} else {
			struct msghdr m;
			memset(&m, 0, sizeof(m));
			m.msg_iov = (struct iovec*)(iov + i);
			m.msg_iovlen = (size_t)(iovcnt - i < IOV_MAX ?
				iovcnt - i : IOV_MAX);
			w = sendmsg(col->fd, &m, MSG_NOSIGNAL);
		}
		if(w < 0 && errno == EINTR) continue;
		if(w <= 0) return fstrm_res_failure;
		left = (size_t)w;
		while(i < iovcnt && left >= iov[i].iov_len - off) {
			left -= iov[i].iov_len - off;
			off = 0;
			i++;
		}
		off += left;
	}
	return fstrm_res_success;
}

/** fstrm_rdwr destroy: the connection is the module's, nothing here */
static fstrm_res
col_destroy(void* obj)
{
	(void)obj;
	return fstrm_res_success;
}

/** fill the collector's address; @return 1 ok */
static int
col_address(struct ig_collector* col, const char* socket_path,
	const char* tcp_addr, int tcp_port)
{
	memset(&col->addr, 0, sizeof(col->addr));
	if(socket_path[0]) {
		struct sockaddr_un* u = (struct sockaddr_un*)&col->addr;
		if(strlen(socket_path) >= sizeof(u->sun_path)) return 0;
		u->sun_family = AF_UNIX;
		memcpy(u->sun_path, socket_path, strlen(socket_path) + 1);
		col->addrlen = sizeof(*u);
		snprintf(col->name, sizeof(col->name), "%s", socket_path);
	} else {
		struct sockaddr_in* s4 = (struct sockaddr_in*)&col->addr;
		struct sockaddr_in6* s6 = (struct sockaddr_in6*)&col->addr;
		if(inet_pton(AF_INET, tcp_addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)tcp_port);
			col->addrlen = sizeof(*s4);
		} else if(inet_pton(AF_INET6, tcp_addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)tcp_port);
			col->addrlen = sizeof(*s6);
		} else return 0;
		snprintf(col->name, sizeof(col->name), "%s@%d", tcp_addr,
			tcp_port);
	}
	return 1;
}

struct fstrm_writer*
ig_collector_writer(struct ig_collector* col,
	const char* socket_path, const char* tcp_addr, int tcp_port,
	const char* content_type, struct ig_host_log* log)
{
	struct fstrm_writer_options* wopt;
	struct fstrm_rdwr* rdwr;
	struct fstrm_writer* w;
	col->fd = -1;
	col->log = log;
	atomic_init(&col->connected, 0);
	atomic_init(&col->stopping, 0);
	if(!col_address(col, socket_path, tcp_addr, tcp_port)) {
		ig_log(col->log, LOG_ERR, "icpguard: dnstap collector address "
			"not usable: %s%s",
			socket_path, socket_path[0] ? "" : tcp_addr);
		return NULL;
	}
	pthread_mutex_init(&col->lock, NULL);
	rdwr = fstrm_rdwr_init(col);
	fstrm_rdwr_set_open(rdwr, col_open);
	fstrm_rdwr_set_close(rdwr, col_close);
	fstrm_rdwr_set_read(rdwr, col_read);
	fstrm_rdwr_set_write(rdwr, col_write);
	fstrm_rdwr_set_destroy(rdwr, col_destroy);
	wopt = fstrm_writer_options_init();
	fstrm_writer_options_add_content_type(wopt, content_type,
		strlen(content_type));
	w = fstrm_writer_init(wopt, &rdwr);
	fstrm_writer_options_destroy(&wopt);
	if(!w) {
		if(rdwr) fstrm_rdwr_destroy(&rdwr);
		pthread_mutex_destroy(&col->lock);
	}
	return w;
}

void
ig_collector_shutdown(struct ig_collector* col)
{
	pthread_mutex_lock(&col->lock);
	atomic_store(&col->stopping, 1);
	if(col->fd >= 0) shutdown(col->fd, SHUT_RDWR);
	pthread_mutex_unlock(&col->lock);
}

void
ig_collector_free(struct ig_collector* col)
{
	pthread_mutex_destroy(&col->lock);
}
