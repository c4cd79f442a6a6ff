/*
 * common/collector.h - the connection to the dnstap collector.
 *
 * \file
 * libfstrm's I/O thread writes through this connection instead of
 * libfstrm's own Unix and TCP writers, for two things those do not give:
 * the writer knows whether a collector is connected (records the I/O
 * thread throws away while none is are counted as dropped, not as sent),
 * and the writer's stop can shut the socket down, so that an I/O thread
 * blocked writing to a stalled collector returns at once instead of being
 * left behind.  Frame Streams itself (the handshake, the frames) stays
 * libfstrm's: this is only its fstrm_rdwr.
 */
#ifndef ICPGUARD_COMMON_COLLECTOR_H
#define ICPGUARD_COMMON_COLLECTOR_H
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include "common/host_log.h"

struct fstrm_writer;

/** A collector connection.  Owned by whoever owns the I/O thread; it must
 * outlive the writer. */
struct ig_collector {
	/** where the collector listens */
	struct sockaddr_storage addr;
	/** its length */
	socklen_t addrlen;
	/** for messages: the socket path or ADDRESS@PORT */
	char name[300];
	/** the socket, -1 when closed (guarded by lock, read unlocked by
	 * the I/O thread that owns it) */
	int fd;
	/** guards fd against the stop's shutdown */
	pthread_mutex_t lock;
	/** 1 while connected (after the Frame Streams handshake starts) */
	atomic_int connected;
	/** where it logs (the writer's gate, common/host_log.h) */
	struct ig_host_log* log;
	/** 1 once the writer stops: no new connection */
	atomic_int stopping;
};

/**
 * Set up the connection (nothing is opened yet) and the libfstrm writer
 * that uses it.  Thread: the writer's start.
 * @param col: the connection, set up here; owned by the caller.
 * @param socket_path: a Unix socket path, or "" for TCP.
 * @param tcp_addr, tcp_port: the collector's IP address and port (TCP).
 * @param content_type: the Frame Streams content type.
 * @param log: where the connection logs (the I/O thread: connected; here:
 *	an unusable address); owned by the caller, it must outlive col.
 * @return the writer (owned by the caller, for fstrm_iothr_init), or
 *	NULL (the reason logged).
 */
struct fstrm_writer* ig_collector_writer(struct ig_collector* col,
	const char* socket_path, const char* tcp_addr, int tcp_port,
	const char* content_type, struct ig_host_log* log);

/**
 * Stop: no new connection, and a write or read in progress fails at once
 * (shutdown of the socket).  Thread: any; the I/O thread then closes.
 */
void ig_collector_shutdown(struct ig_collector* col);

/** Free what ig_collector_writer set up (after the writer is gone). */
void ig_collector_free(struct ig_collector* col);

#endif /* ICPGUARD_COMMON_COLLECTOR_H */
