/*
 * bench/dnsload.c - a lean UDP DNS load generator for the benchmarks.
 *
 * \file
 * dnsperf costs about 7 µs of CPU per query on the 2-CPU bench machine (a
 * sender and a receiver thread, a system call and often a wake-up per
 * packet).  At 140,000 queries a second that is a whole CPU: on two CPUs
 * it saturates the one the resolver's worker is not pinned to, so
 * anything else the resolver runs there (the dnstap encoder and I/O
 * threads, the collector) is taken from the load generator, and the QPS
 * measures the load generator's share of that CPU as much as the
 * resolver (docs/audit.md).  dnsload sends and receives in batches
 * (sendmmsg, recvmmsg) from one thread, so the resolver is what bounds
 * the rate.
 *
 * It keeps a fixed number of queries outstanding over a few connected
 * UDP sockets, cycles through the query file (dnsperf's format: "NAME
 * TYPE" per line), matches each response to its query by ID, counts a
 * query unanswered after the timeout as lost, and prints dnsperf's summary
 * lines, so the bench scripts read either tool, and its own CPU per query.
 * A turn that brought few answers is followed by a short sleep (-w), so
 * that the next system calls carry batches: without it the loop spins on
 * one or two datagrams per call and needs 5 µs of CPU per query, with it
 * about 3 (mostly the kernel's loopback send path).
 *
 * Not a test and not installed; single-threaded.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lib/name.h"

/** most sockets, most outstanding queries per socket (ID low byte) */
#define MAX_SOCKETS 64
#define MAX_SLOTS 256
/** datagrams per sendmmsg/recvmmsg */
#define BATCH 64
/** largest query kept, largest response read */
#define QUERY_MAX 300
#define RESPONSE_MAX 4096

/** a query of the file, in wire format (ID 0) */
struct query {
	uint8_t wire[QUERY_MAX];
	size_t len;
};

/** one outstanding query */
struct slot {
	/** its ID (slot index in the low byte, the slot's generation
	 * above: a late answer to a query counted lost does not match the
	 * query sent next from the slot); the slot is free when busy is 0 */
	uint16_t id;
	uint8_t busy, gen;
	/** when it was sent (monotonic seconds) */
	double sent;
};

/** a socket and its outstanding queries */
struct sock {
	int fd;
	struct slot slot[MAX_SLOTS];
	int nbusy;
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
usage(FILE* out)
{
	fprintf(out,
"usage: dnsload -s ADDR -p PORT -d FILE [-l SECONDS] [-q OUTSTANDING]\n"
"               [-c SOCKETS] [-t TIMEOUT] [-w MICROSECONDS]\n"
"\n"
"Send the queries of FILE (\"NAME TYPE\" per line, dnsperf's format) over UDP\n"
"to ADDR@PORT in a loop for SECONDS (default 10; SIGINT stops early),\n"
"keeping OUTSTANDING queries in flight (default 200) over SOCKETS sockets\n"
"(default 4); a query unanswered after TIMEOUT seconds (default 2) is lost.\n"
"When a turn brought fewer than 16 answers it waits MICROSECONDS (default\n"
"100, 0: never) before the next, so that each system call carries a batch.\n"
"Prints dnsperf's summary lines (Queries sent, completed, lost, per second).\n"
"Batches its system calls (sendmmsg, recvmmsg) so that it needs a fraction\n"
"of the CPU dnsperf needs for the same rate.\n");
}

/** an integer option in [lo, hi]; exits naming the option otherwise */
static int
int_arg(int opt, const char* s, long lo, long hi)
{
	char* end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if(errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "dnsload: -%c %s: want an integer from %ld to "
			"%ld\n", opt, s, lo, hi);
		exit(2);
	}
	return (int)v;
}

/** a number of seconds in (0, hi]; exits naming the option otherwise */
static double
num_arg(int opt, const char* s, double hi)
{
	char* end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if(errno || end == s || *end || !(v > 0 && v <= hi)) {
		fprintf(stderr, "dnsload: -%c %s: want seconds above 0, at most "
			"%g\n", opt, s, hi);
		exit(2);
	}
	return v;
}

/** monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/** a query type by name (or TYPEnnn); 0 when unknown */
static int
qtype_of(const char* s)
{
	static const struct { const char* name; int type; } t[] = {
		{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 },
		{ "PTR", 12 }, { "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 },
		{ "SRV", 33 }, { "DNAME", 39 }, { "DS", 43 }, { "DNSKEY", 48 },
		{ "SVCB", 64 }, { "HTTPS", 65 }, { "ANY", 255 },
	};
	size_t i;
	for(i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if(strcasecmp(s, t[i].name) == 0) return t[i].type;
	if(strncasecmp(s, "TYPE", 4) == 0 && atoi(s + 4) > 0 &&
		atoi(s + 4) < 65536)
		return atoi(s + 4);
	return 0;
}

/** read the query file; exits on a bad line, naming it */
static struct query*
read_queries(const char* path, size_t* n)
{
	FILE* f = fopen(path, "r");
	char line[1100], name[1030], type[40];
	struct query* q = NULL;
	size_t cap = 0, lineno = 0;
	*n = 0;
	if(!f) {
		fprintf(stderr, "dnsload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while(fgets(line, sizeof(line), f)) {
		uint8_t* w;
		size_t wl;
		const char* err = NULL;
		int qt;
		lineno++;
		if(line[0] == '#' || line[0] == '\n' || line[0] == 0) continue;
		if(sscanf(line, "%1029s %39s", name, type) != 2) {
			fprintf(stderr, "dnsload: %s:%zu: want NAME TYPE\n",
				path, lineno);
			exit(2);
		}
		if(!(qt = qtype_of(type))) {
			fprintf(stderr, "dnsload: %s:%zu: unknown type '%s'\n",
				path, lineno, type);
			exit(2);
		}
		if(*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if(!(q = realloc(q, cap * sizeof(*q)))) {
				fprintf(stderr, "dnsload: out of memory\n");
				exit(2);
			}
		}
		w = q[*n].wire;
		memset(w, 0, 12);
		w[2] = 0x01;	/* RD */
		w[5] = 1;	/* QDCOUNT */
		if(!ig_name_from_text(name, w + 12, &wl, &err)) {
			fprintf(stderr, "dnsload: %s:%zu: name '%s': %s\n",
				path, lineno, name, err ? err : "bad name");
			exit(2);
		}
		w[12 + wl] = (uint8_t)(qt >> 8);
		w[13 + wl] = (uint8_t)qt;
		w[14 + wl] = 0;
		w[15 + wl] = 1;	/* IN */
		q[*n].len = 16 + wl;
		(*n)++;
	}
	fclose(f);
	if(*n == 0) {
		fprintf(stderr, "dnsload: %s: no queries\n", path);
		exit(2);
	}
	return q;
}

int
main(int argc, char** argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char* server = NULL, *file = NULL;
	int port = 0, nsock = 4, outstanding = 200, per, c, i;
	double secs = 10, timeout = 2, t0, t_end, now, last_scan;
	struct sockaddr_in sa;
	struct sock* socks;
	struct query* qs;
	size_t nq, next = 0;
	unsigned long sent = 0, done = 0, lost = 0, polls = 0;
	int got = BATCH, gather_us = 100;
	static struct mmsghdr smsg[BATCH], rmsg[BATCH];
	static struct iovec siov[BATCH], riov[BATCH];
	static uint8_t sbuf[BATCH][QUERY_MAX], rbuf[BATCH][RESPONSE_MAX];
	struct pollfd pfd[MAX_SOCKETS];

	while((c = getopt_long(argc, argv, "s:p:d:l:q:c:t:w:h", opts, NULL)) != -1) {
		switch(c) {
		case 's': server = optarg; break;
		case 'p': port = int_arg('p', optarg, 1, 65535); break;
		case 'd': file = optarg; break;
		case 'l': secs = num_arg('l', optarg, 3600); break;
		case 'q': outstanding = int_arg('q', optarg, 1,
			MAX_SOCKETS * MAX_SLOTS); break;
		case 'c': nsock = int_arg('c', optarg, 1, MAX_SOCKETS); break;
		case 't': timeout = num_arg('t', optarg, 60); break;
		case 'w': gather_us = int_arg('w', optarg, 0, 999999); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if(!server || !file || port <= 0 ||
		inet_pton(AF_INET, server, &sa.sin_addr) != 1) {
		fprintf(stderr, "dnsload: need -s IPV4-ADDRESS, -p PORT and "
			"-d FILE (--help)\n");
		return 2;
	}
	if(outstanding % nsock != 0 || outstanding / nsock > MAX_SLOTS) {
		fprintf(stderr, "dnsload: -q %d must be a multiple of -c %d, "
			"at most %d per socket\n", outstanding, nsock, MAX_SLOTS);
		return 2;
	}
	qs = read_queries(file, &nq);
	per = outstanding / nsock;
	if(!(socks = calloc((size_t)nsock, sizeof(*socks)))) return 2;
	for(i = 0; i < nsock; i++) {
		int buf = 4 << 20, got_buf = 0;
		socklen_t gl = sizeof(got_buf);
		if((socks[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK,
			0)) < 0 || connect(socks[i].fd, (struct sockaddr*)&sa,
			sizeof(sa)) != 0) {
			fprintf(stderr, "dnsload: socket to %s@%d: %s\n",
				server, port, strerror(errno));
			return 2;
		}
		/* room for every answer in flight: past rmem_max only with
		 * SO_RCVBUFFORCE (root); say so when it is smaller */
		if(setsockopt(socks[i].fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf,
			sizeof(buf)) != 0)
			(void)setsockopt(socks[i].fd, SOL_SOCKET, SO_RCVBUF,
				&buf, sizeof(buf));
		if(i == 0 && getsockopt(socks[i].fd, SOL_SOCKET, SO_RCVBUF,
			&got_buf, &gl) == 0 && got_buf < per * 2 * 1024)
			fprintf(stderr, "dnsload: warning: receive buffer %d "
				"bytes, small for %d answers in flight (answers "
				"may be lost)\n", got_buf, per);
		pfd[i].fd = socks[i].fd;
		pfd[i].events = POLLIN;
	}
	for(i = 0; i < BATCH; i++) {
		siov[i].iov_base = sbuf[i];
		smsg[i].msg_hdr.msg_iov = &siov[i];
		smsg[i].msg_hdr.msg_iovlen = 1;
		riov[i].iov_base = rbuf[i];
		riov[i].iov_len = RESPONSE_MAX;
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	t0 = last_scan = now_s();
	t_end = t0 + secs;
	now = t0;
	while(!interrupted && now < t_end) {
		/* fill every socket's free slots, a batch at a time */
		for(i = 0; i < nsock; i++) {
			struct sock* s = &socks[i];
			int k = 0, j, r;
			for(j = 0; j < per && k < BATCH; j++) {
				struct slot* sl = &s->slot[j];
				const struct query* q = &qs[next];
				if(sl->busy) continue;
				sl->id = (uint16_t)((sl->gen++ << 8) | j);
				sl->busy = 1;
				sl->sent = now;
				memcpy(sbuf[k], q->wire, q->len);
				sbuf[k][0] = (uint8_t)(sl->id >> 8);
				sbuf[k][1] = (uint8_t)sl->id;
				siov[k].iov_len = q->len;
				k++;
				if(++next == nq) next = 0;
			}
			if(k == 0) continue;
			r = sendmmsg(s->fd, smsg, (unsigned)k, 0);
			if(r < 0) r = 0;
			sent += (unsigned long)r;
			s->nbusy += r;
			/* what the kernel did not take is free again */
			for(j = r; j < k; j++) {
				uint16_t id = (uint16_t)((sbuf[j][0] << 8) |
					sbuf[j][1]);
				s->slot[id & 0xff].busy = 0;
			}
		}
		if(gather_us > 0 && got < BATCH / 4) {
			struct timespec ts = { 0, gather_us * 1000L };
			nanosleep(&ts, NULL);
		}
		got = 0;
		polls++;
		if(poll(pfd, (nfds_t)nsock, 10) < 0 && errno != EINTR) {
			perror("dnsload: poll");
			return 2;
		}
		now = now_s();
		for(i = 0; i < nsock; i++) {
			struct sock* s = &socks[i];
			int r, j;
			if(!(pfd[i].revents & POLLIN)) continue;
			while((r = recvmmsg(s->fd, rmsg, BATCH, MSG_DONTWAIT,
				NULL)) > 0) {
				for(j = 0; j < r; j++) {
					uint16_t id;
					struct slot* sl;
					if(rmsg[j].msg_len < 12) continue;
					id = (uint16_t)((rbuf[j][0] << 8) |
						rbuf[j][1]);
					sl = &s->slot[id & 0xff];
					if(!sl->busy || sl->id != id) continue;
					sl->busy = 0;
					s->nbusy--;
					if(now < t_end) done++;
					got++;
				}
				if(r < BATCH) break;
			}
		}
		/* unanswered after the timeout: lost, the slot is reused */
		if(now - last_scan > 0.05) {
			last_scan = now;
			for(i = 0; i < nsock; i++) {
				int j;
				for(j = 0; j < per; j++) {
					struct slot* sl = &socks[i].slot[j];
					if(sl->busy && now - sl->sent > timeout) {
						sl->busy = 0;
						socks[i].nbusy--;
						lost++;
					}
				}
			}
		}
	}
	now = now_s();
	if(now > t_end) now = t_end;
	printf("Statistics (dnsload):\n\n");
	printf("  Queries sent:         %lu\n", sent);
	printf("  Queries completed:    %lu (%.2f%%)\n", done,
		sent ? 100.0 * (double)done / (double)sent : 0.0);
	printf("  Queries lost:         %lu (%.2f%%)\n", lost,
		sent ? 100.0 * (double)lost / (double)sent : 0.0);
	{
		/* in flight at the end: neither completed nor lost */
		unsigned long inflight = 0;
		for(i = 0; i < nsock; i++)
			inflight += (unsigned long)socks[i].nbusy;
		printf("  Queries interrupted:  %lu\n", inflight);
	}
	printf("  Run time (s):         %.6f\n", now - t0);
	printf("  Queries per second:   %.6f\n",
		now > t0 ? (double)done / (now - t0) : 0.0);
	{
		/* what the load itself cost: it should stay well under the
		 * resolver's CPU per query */
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("  dnsload CPU per query: %.2f us (user %.2f, system "
			"%.2f), %lu polls\n", sent ? ((double)ru.ru_utime.tv_sec
			* 1e6 + ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec
			* 1e6 + ru.ru_stime.tv_usec) / (double)sent : 0.0,
			sent ? ((double)ru.ru_utime.tv_sec * 1e6 +
			ru.ru_utime.tv_usec) / (double)sent : 0.0,
			sent ? ((double)ru.ru_stime.tv_sec * 1e6 +
			ru.ru_stime.tv_usec) / (double)sent : 0.0, polls);
	}
	for(i = 0; i < nsock; i++) close(socks[i].fd);
	free(socks);
	free(qs);
	return 0;
}
