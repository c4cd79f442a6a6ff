/*
 * loader/orders.c - takedown orders in the loader: intake, journal, the
 * order snapshot.
 *
 * \file
 * See orders.h.  The journal is JSON lines, one per accepted message:
 *   {"received_ns": N, "envelope": {...}}
 * appended with write(2) and fsync(2) before the HTTP answer, so an
 * acknowledged order survives a crash at any later moment.  The in-memory
 * table is rebuilt from it at start.
 */
#include "config.h"
#include "loader/loader.h"
#include "loader/order.h"
#include "loader/orders.h"
#include "lib/snapshot.h"
#include "lib/timefmt.h"
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/** one order and its execution record */
struct order_entry {
	/** the validated add (strings point into add_env) */
	struct ig_order_req req;
	/** the accepted add envelope */
	json_t* add_env;
	/** what the order says (ig_order_content; for a repeated id) */
	char* canonical;
	/** received, unix ns */
	int64_t received_ns;
	/** lift time (0 none) and when the lift was received (ns) */
	int64_t lifted, lift_received_ns;
	/** the order-snapshot serial that first carried the add / the lift */
	uint64_t published_serial, lift_published_serial;
	/** when (unix ns) */
	int64_t published_ns, lift_published_ns;
	/** signing key name */
	char key[64];
};

/** the orders of a loader */
struct loader_orders {
	/** entries */
	struct order_entry* e;
	/** count and capacity */
	int n, cap;
	/** journal path and descriptor */
	char journal[1100];
	/** descriptor, append mode */
	int fd;
	/** serial of the order snapshot in force */
	uint64_t serial;
	/** the journal has entries written but not yet fsynced */
	int sync_pending;
	/** that file as last verified whole (the diff of the next publish
	 * reads it; each file is verified once) */
	struct ig_snapshot_memo prev_memo;
	/** trusted order keys */
	struct ig_keyring keys;
	/** publish failures since start */
	uint64_t publish_failures;
	/** journal entries skipped at start (quarantined) */
	int quarantined;
};

/** now in ns */
static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/** find by id */
static struct order_entry*
find(struct loader_orders* O, const char* id)
{
	int i;
	for(i = 0; i < O->n; i++)
		if(!strcmp(O->e[i].req.id, id)) return &O->e[i];
	return NULL;
}

/**
 * Apply one verified message to the table.
 * @param status: out, HTTP status: 200 applied or repeated, 404 lift of an
 *	unknown order, 409 id reused with other content.
 * @return 1 changed the table, 0 not.
 */
static int
apply_msg(struct loader_orders* O, json_t* env, json_t* order,
	const struct ig_order_req* req, const char* key, int64_t received_ns,
	int* status, char* msg, size_t msglen)
{
	struct order_entry* e = find(O, req->id);
	*status = 200;
	if(!req->add) {
		if(!e) {
			*status = 404;
			snprintf(msg, msglen, "no order %s to lift", req->id);
			return 0;
		}
		if(e->lifted) {
			snprintf(msg, msglen, "order %s already lifted", req->id);
			return 0;
		}
		e->lifted = req->at;
		e->lift_received_ns = received_ns;
		snprintf(msg, msglen, "order %s lifted", req->id);
		return 1;
	}
	if(e) {
		char* c = ig_order_content(order);
		int same = c && !strcmp(c, e->canonical);
		free(c);
		if(!same) {
			*status = 409;
			snprintf(msg, msglen, "order id %s already used for "
				"other content", req->id);
		} else snprintf(msg, msglen, "order %s already accepted",
				req->id);
		return 0;
	}
	if(O->n == O->cap) {
		O->cap = O->cap ? O->cap * 2 : 64;
		O->e = realloc(O->e, sizeof(*O->e) * (size_t)O->cap);
	}
	e = &O->e[O->n++];
	memset(e, 0, sizeof(*e));
	e->add_env = json_incref(env);
	e->canonical = ig_order_content(order);
	/* re-check against the envelope we keep, so the strings of req
	 * point into it */
	{
		const char* code;
		char err[256];
		(void)ig_order_check(json_object_get(e->add_env, "order"),
			received_ns / 1000000000LL, &e->req, &code, err,
			sizeof(err));
	}
	e->received_ns = received_ns;
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(msg, msglen, "order %s accepted", req->id);
	return 1;
}

/**
 * Publish the order snapshot with every order.  The journal is the durable
 * record of an order (fsynced before the answer); the order snapshot is
 * derived from it and published again at every start, so an order's
 * publish skips the fsyncs (durable 0): the rename stays atomic, and a
 * file a power loss left torn is refused by the module (the one before
 * keeps serving) and replaced at the loader's next start, durably.
 * @return 1/0.
 */
static int
publish(struct loader* L, int durable, char* err, size_t errlen)
{
	struct loader_orders* O = L->orders;
	struct ig_writer* w;
	struct ig_snapshot* prev = NULL;
	struct ig_snapshot_info info;
	char perr[512];
	int i, ok = 1;
	if(!(w = ig_writer_create(L->cfg.orders_snapshot, (size_t)1 << 30,
		err, errlen)))
		return 0;
	ig_writer_set_durable(w, durable);
	ig_writer_set_psl(w, 0);
	for(i = 0; i < O->n && ok; i++) {
		struct order_entry* e = &O->e[i];
		struct ig_order o;
		uint8_t tbuf[IG_ORDER_TARGETS_BYTES];
		const char* names[IG_ORDER_MAX_TARGETS];
		unsigned j;
		memset(&o, 0, sizeof(o));
		o.id = e->req.id;
		o.doc_no = e->req.doc_no;
		o.unit = e->req.unit;
		o.reason = e->req.reason;
		o.effective = e->req.effective;
		o.expiry = e->req.expiry;
		o.lifted = e->lifted;
		for(j = 0; j < e->req.ntargets; j++)
			names[j] = e->req.target[j];
		o.ntargets = e->req.ntargets;
		o.targets = tbuf;
		if(!ig_order_targets_encode(names, e->req.subtree,
			e->req.ntargets, tbuf, sizeof(tbuf)) ||
			!ig_writer_order(w, &o)) {
			snprintf(err, errlen, "order %s: %s", e->req.id,
				ig_writer_error(w));
			ok = 0;
		}
	}
	if(ok && ig_snapshot_open_memo(L->cfg.orders_snapshot, &O->prev_memo,
		&prev, perr, sizeof(perr))) {
		ok = ig_writer_diff(w, prev);
		if(!ok) snprintf(err, errlen, "%s", ig_writer_error(w));
		ig_snapshot_unref(prev);
	} else if(ok) ok = ig_writer_meta(w, "changed_all", "1");
	if(ok) ok = ig_writer_meta(w, "source", "icpguard-loader orders");
	if(!ok) {
		ig_writer_abort(w);
		O->publish_failures++;
		return 0;
	}
	if(!ig_writer_publish(w, O->serial + 1, &info, err, errlen)) {
		O->publish_failures++;
		return 0;
	}
	O->serial = info.serial;
	for(i = 0; i < O->n; i++) {
		struct order_entry* e = &O->e[i];
		if(!e->published_serial) {
			e->published_serial = info.serial;
			e->published_ns = now_ns();
		}
		if(e->lifted && !e->lift_published_serial) {
			e->lift_published_serial = info.serial;
			e->lift_published_ns = now_ns();
		}
	}
	loader_log(L, LOG_NOTICE, "order snapshot %s published (%d orders)",
		info.ident, O->n);
	return 1;
}

/** append one message to the journal, not yet synced (journal_sync
 * before it is acknowledged); @return 1/0 */
static int
journal_write(struct loader_orders* O, json_t* env, int64_t received_ns,
	char* err, size_t errlen)
{
	json_t* line = json_pack("{s:I,s:O}", "received_ns",
		(json_int_t)received_ns, "envelope", env);
	char* t = line ? json_dumps(line, JSON_COMPACT) : NULL;
	size_t len, off = 0;
	int ok = 0;
	json_decref(line);
	if(!t) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	len = strlen(t);
	t[len++] = '\n'; /* json_dumps leaves room for the NUL */
	while(off < len) {
		ssize_t w = write(O->fd, t + off, len - off);
		if(w < 0 && errno == EINTR) continue;
		if(w <= 0) {
			snprintf(err, errlen, "%.900s: %s", O->journal,
				strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	O->sync_pending = 1;
	ok = 1;
done:
	free(t);
	return ok;
}

/** fsync what journal_write wrote (nothing to do when it is synced);
 * until it succeeds, no order is acknowledged.  @return 1/0 */
static int
journal_sync(struct loader_orders* O, char* err, size_t errlen)
{
	if(!O->sync_pending) return 1;
	if(fsync(O->fd) != 0) {
		snprintf(err, errlen, "%.900s: fsync: %s", O->journal,
			strerror(errno));
		return 0;
	}
	O->sync_pending = 0;
	return 1;
}

/** where refused journal entries are copied at start */
struct quarantine_file {
	/** the open temporary, NULL until the first entry */
	FILE* f;
	/** its path and the final path */
	char tmp[1200], path[1200];
};

/**
 * Skip one journal entry that does not pass the order checks: a log line
 * naming the journal line and the reason, and a copy of the entry in
 * STATE_DIR/quarantine/orders.jsonl (rewritten at each start).
 */
static void
quarantine_entry(struct loader* L, struct quarantine_file* q, long ln,
	const char* code, const char* why, const char* line)
{
	struct loader_orders* O = L->orders;
	json_t* j;
	char* t;
	O->quarantined++;
	loader_log(L, LOG_ERR, "%s:%ld: journal entry quarantined (%s): %s; "
		"the other orders stay in force", O->journal, ln, code, why);
	if(!q->f) {
		snprintf(q->path, sizeof(q->path), "%.1000s/quarantine/"
			"orders.jsonl", L->cfg.state_dir);
		snprintf(q->tmp, sizeof(q->tmp), "%.1100s.tmp", q->path);
		if(!(q->f = fopen(q->tmp, "w"))) {
			loader_log(L, LOG_WARNING, "%s: %s", q->tmp,
				strerror(errno));
			return;
		}
	}
	j = json_pack("{s:s,s:I,s:s,s:s,s:s}", "journal", O->journal,
		"line", (json_int_t)ln, "code", code, "reason", why, "entry",
		line);
	if(j && (t = json_dumps(j, JSON_COMPACT))) {
		fprintf(q->f, "%s\n", t);
		free(t);
	}
	json_decref(j);
}

/** finish the quarantine copy (or remove an old one when all is good) */
static void
quarantine_close(struct loader* L, struct quarantine_file q)
{
	if(!q.f) {
		char path[1200];
		snprintf(path, sizeof(path), "%.1000s/quarantine/orders.jsonl",
			L->cfg.state_dir);
		(void)unlink(path);
		return;
	}
	if(fclose(q.f) != 0 || rename(q.tmp, q.path) != 0) {
		loader_log(L, LOG_WARNING, "%s: %s", q.path, strerror(errno));
		unlink(q.tmp);
	}
}

int
orders_open(struct loader* L, char* err, size_t errlen)
{
	struct loader_orders* O;
	FILE* in;
	char* line = NULL;
	size_t cap = 0;
	long ln = 0;
	int i, j;
	struct quarantine_file q = { NULL, "", "" };
	if(!L->cfg.orders_snapshot[0]) return 1;
	if(!(O = calloc(1, sizeof(*O)))) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	L->orders = O;
	O->fd = -1;
	for(i = 0; i < L->cfg.norder_keys; i++) {
		for(j = 0; j < L->cfg.nkeys; j++)
			if(!strcmp(L->cfg.key[j].name, L->cfg.order_keys[i]))
				break;
		if(j == L->cfg.nkeys || !ig_keyring_add(&O->keys,
			L->cfg.key[j].name, L->cfg.key[j].path, err, errlen)) {
			if(j == L->cfg.nkeys)
				snprintf(err, errlen, "order-keys: no key '%s'",
					L->cfg.order_keys[i]);
			return 0;
		}
	}
	snprintf(O->journal, sizeof(O->journal), "%s/orders.journal",
		L->cfg.state_dir);
	/* replay */
	if((in = fopen(O->journal, "r")) != NULL) {
		while(getline(&line, &cap, in) > 0) {
			json_error_t je;
			json_t* j1, *env, *order;
			struct ig_order_req req;
			const char* code;
			char e2[256];
			int st;
			ln++;
			if(!(j1 = json_loads(line, 0, &je))) {
				/* a torn last line from a crash before the
				 * fsync: that message was never acknowledged */
				loader_log(L, LOG_WARNING, "%s:%ld: unreadable "
					"journal line skipped (%s)", O->journal,
					ln, je.text);
				continue;
			}
			env = json_object_get(j1, "envelope");
			order = json_object_get(env, "order");
			if(!ig_order_check(order, json_integer_value(
				json_object_get(j1, "received_ns")) /
				1000000000LL, &req, &code, e2, sizeof(e2))) {
				/* one bad entry (a limit added since it was
				 * journaled, a damaged line) must not stop the
				 * loader or the other orders */
				quarantine_entry(L, &q, ln, code, e2, line);
				json_decref(j1);
				continue;
			}
			apply_msg(O, env, order, &req, json_string_value(
				json_object_get(env, "key_id")) ?
				json_string_value(json_object_get(env,
				"key_id")) : "", json_integer_value(
				json_object_get(j1, "received_ns")),
				&st, e2, sizeof(e2));
			json_decref(j1);
		}
		free(line);
		fclose(in);
	}
	quarantine_close(L, q);
	if((O->fd = open(O->journal, O_WRONLY | O_APPEND | O_CREAT |
		O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "%.900s: %s", O->journal, strerror(errno));
		return 0;
	}
	{
		struct ig_snapshot* s;
		char e2[512];
		if(ig_snapshot_open_memo(L->cfg.orders_snapshot,
			&O->prev_memo, &s, e2, sizeof(e2))) {
			O->serial = ig_snapshot_info(s)->serial;
			ig_snapshot_unref(s);
		}
	}
	/* publish at start: the file may lag the journal after a crash.  A
	 * failure here (disk full, say) does not stop the loader: the feeds
	 * still publish, /status counts the orders pending, and the next
	 * order retries */
	if(!publish(L, 1, err, errlen))
		loader_log(L, LOG_ERR, "order snapshot not published at "
			"start: %s (retried on the next order)", err);
	loader_log(L, LOG_NOTICE, "%d orders from %s%s", O->n, O->journal,
		O->quarantined ? " (some entries quarantined, see above)" : "");
	return 1;
}

void
orders_close(struct loader* L)
{
	struct loader_orders* O = L->orders;
	int i;
	if(!O) return;
	if(O->fd >= 0) close(O->fd);
	for(i = 0; i < O->n; i++) {
		json_decref(O->e[i].add_env);
		free(O->e[i].canonical);
	}
	free(O->e);
	ig_keyring_free(&O->keys);
	free(O);
	L->orders = NULL;
}

int
orders_count(struct loader* L)
{
	return L->orders ? L->orders->n : 0;
}

int
orders_in_force(struct loader* L, time_t now)
{
	int i, n = 0;
	if(!L->orders) return 0;
	for(i = 0; i < L->orders->n; i++) {
		struct order_entry* e = &L->orders->e[i];
		if(e->published_serial && !e->lifted &&
			e->req.effective <= now &&
			(!e->req.expiry || e->req.expiry > now))
			n++;
	}
	return n;
}

int
orders_pending(struct loader* L)
{
	int i, n = 0;
	if(!L->orders) return 0;
	for(i = 0; i < L->orders->n; i++) {
		struct order_entry* e = &L->orders->e[i];
		if(!e->published_serial || (e->lifted &&
			!e->lift_published_serial))
			n++;
	}
	return n;
}

int
orders_quarantined(struct loader* L)
{
	return L->orders ? L->orders->quarantined : 0;
}

/** an order's record as JSON */
static json_t*
entry_json(const struct order_entry* e)
{
	json_t* t = json_array();
	char b1[40], b2[40];
	unsigned j;
	for(j = 0; j < e->req.ntargets; j++)
		json_array_append_new(t, json_pack("{s:s,s:b}", "name",
			e->req.target[j], "subtree", e->req.subtree[j]));
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s?,s:s?,s:I,s:I,s:I,"
		"s:I,s:I,s:s}",
		"id", e->req.id, "doc_no", e->req.doc_no, "unit", e->req.unit,
		"reason", e->req.reason, "targets", t,
		"effective", ig_format_time(e->req.effective, b1, sizeof(b1)),
		"expiry", e->req.expiry ? ig_format_time(e->req.expiry, b2,
		sizeof(b2)) : NULL,
		"lifted", e->lifted ? "yes" : NULL,
		"received_ns", (json_int_t)e->received_ns,
		"published_serial", (json_int_t)e->published_serial,
		"published_ns", (json_int_t)e->published_ns,
		"lift_published_serial", (json_int_t)e->lift_published_serial,
		"lifted_at", (json_int_t)e->lifted,
		"key", e->key);
}

/** send a JSON answer */
static void
reply_json(struct evhttp_request* req, int status, json_t* j)
{
	struct evbuffer* b = evbuffer_new();
	char* t = json_dumps(j, JSON_COMPACT);
	evbuffer_add_printf(b, "%s\n", t ? t : "{}");
	free(t);
	json_decref(j);
	evhttp_add_header(evhttp_request_get_output_headers(req),
		"Content-Type", "application/json");
	evhttp_send_reply(req, status, status < 300 ? "OK" : "Refused", b);
	evbuffer_free(b);
}

/** refuse with a code and reason, logged */
static void
refuse(struct loader* L, struct evhttp_request* req, int status,
	const char* code, const char* why)
{
	loader_log(L, LOG_WARNING, "order refused (%s): %s", code, why);
	reply_json(req, status, json_pack("{s:s,s:s}", "error", code,
		"reason", why));
}

/**
 * Answer an order message with the order's record, the result text and
 * whether the order is in force: published in the order snapshot now in
 * force (for a lift: the lift published).  Status 503 says "not in
 * force" with error "not_in_force".
 */
static void
reply_entry(struct loader* L, struct evhttp_request* req, int status,
	const struct order_entry* e, const char* msg)
{
	json_t* j = e ? entry_json(e) : json_object();
	int in_force = e && (e->lifted ? e->lift_published_serial != 0 :
		e->published_serial != 0);
	if(status == 503) {
		json_object_set_new(j, "error", json_string("not_in_force"));
		json_object_set_new(j, "reason", json_string(msg));
		in_force = 0;
	}
	json_object_set_new(j, "result", json_string(msg));
	json_object_set_new(j, "in_force", json_boolean(in_force));
	json_object_set_new(j, "journaled", json_true());
	json_object_set_new(j, "order_snapshot_serial",
		json_integer((json_int_t)L->orders->serial));
	reply_json(req, status, j);
}

/** POST /orders */
static void
intake(struct loader* L, struct evhttp_request* req)
{
	struct loader_orders* O = L->orders;
	struct evbuffer* in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char* body, err[1024], msg[512];
	json_t* env, *order = NULL;
	json_error_t je;
	struct ig_order_req r;
	const char* code, *key;
	int64_t rx = now_ns();
	int status, changed, published;
	char perr[1024];
	if(len > IG_ORDER_BODY_MAX) {
		snprintf(err, sizeof(err), "order message of %zu bytes, at "
			"most %d", len, IG_ORDER_BODY_MAX);
		refuse(L, req, 413, "too_large", err);
		return;
	}
	body = malloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = 0;
	env = json_loads(body, JSON_REJECT_DUPLICATES, &je);
	free(body);
	if(!env) {
		snprintf(err, sizeof(err), "not JSON: %s", je.text);
		refuse(L, req, 400, "malformed", err);
		return;
	}
	if(!ig_order_verify(env, &O->keys, &order, &key, &code, err,
		sizeof(err))) {
		refuse(L, req, !strcmp(code, "malformed") ? 400 : 403, code,
			err);
		json_decref(env);
		return;
	}
	if(!ig_order_check(order, rx / 1000000000LL, &r, &code, err,
		sizeof(err))) {
		/* a field over a limit of the order snapshot: refused here,
		 * before the journal, so it can never stop a publish */
		refuse(L, req, !strcmp(code, "expired") || !strcmp(code,
			"too_large") ? 422 : 400, code, err);
		json_decref(order);
		json_decref(env);
		return;
	}
	/* decide first, journal second, apply and publish third, sync the
	 * journal last: nothing is half applied, and nothing is acknowledged
	 * before its journal entry is on disk.  The publish does not wait
	 * for the fsync: the order is in force while the disk syncs (a
	 * crash before the sync loses an order nobody was told about; the
	 * sender gets no answer and sends it again) */
	{
		struct order_entry* e = find(O, r.id);
		int repeat = 0;
		if(!r.add && !e) {
			snprintf(err, sizeof(err), "no order %s to lift", r.id);
			refuse(L, req, 404, "unknown_order", err);
			goto done;
		}
		if(r.add && e) {
			char* c = ig_order_content(order);
			int same = c && !strcmp(c, e->canonical);
			free(c);
			if(!same) {
				snprintf(err, sizeof(err), "order id %s already "
					"used for other content", r.id);
				refuse(L, req, 409, "id_reused", err);
				goto done;
			}
			repeat = 1;
		}
		if(!r.add && e->lifted) repeat = 1;
		if(repeat) {
			/* a message the table already holds (a re-send, a
			 * replay): answered from the table, not journaled
			 * or fsync'ed again */
			goto apply;
		}
	}
	if(!journal_write(O, env, rx, err, sizeof(err))) {
		refuse(L, req, 503, "journal", err);
		goto done;
	}
apply:
	changed = apply_msg(O, env, order, &r, key, rx, &status, msg,
		sizeof(msg));
	published = !(changed || orders_pending(L)) ||
		publish(L, 0, perr, sizeof(perr));
	if(!journal_sync(O, err, sizeof(err))) {
		/* never acknowledged: the table holds it, a re-send is
		 * answered once the journal syncs */
		loader_log(L, LOG_ERR, "order journal not synced: %s (%s not "
			"acknowledged)", err, r.id);
		refuse(L, req, 503, "journal", err);
		goto done;
	}
	if(!published) {
		/* journaled (it survives a restart), but not in force: the
		 * answer says so plainly, never 200 */
		char why[2048];
		loader_log(L, LOG_ERR, "order snapshot not published: %s "
			"(%s is journaled, NOT in force; retried on the next "
			"order or restart)", perr, r.id);
		snprintf(why, sizeof(why), "%s, journaled but NOT in force: "
			"the order snapshot was not published (%.1000s); "
			"retried on the next order or restart", msg, perr);
		reply_entry(L, req, 503, find(O, r.id), why);
		goto done;
	}
	loader_log(L, LOG_NOTICE, "%s (signed by %s%s)", msg, key, changed ?
		"" : "; not journaled again");
	reply_entry(L, req, status, find(O, r.id), msg);
done:
	json_decref(order);
	json_decref(env);
}

/** /orders: POST intake, GET list */
static void
orders_cb(struct evhttp_request* req, void* arg)
{
	struct loader* L = (struct loader*)arg;
	int i;
	json_t* a;
	if(!L->orders) {
		evhttp_send_error(req, 404, "orders are not configured "
			"(orders-snapshot)");
		return;
	}
	if(evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		intake(L, req);
		return;
	}
	a = json_array();
	for(i = 0; i < L->orders->n; i++)
		json_array_append_new(a, entry_json(&L->orders->e[i]));
	reply_json(req, 200, json_pack("{s:I,s:o}", "order_snapshot_serial",
		(json_int_t)L->orders->serial, "orders", a));
}

void
orders_http_register(struct loader* L, struct evhttp* http)
{
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
		EVHTTP_REQ_POST);
	evhttp_set_cb(http, "/orders", orders_cb, L);
}

int
orders_http_other(struct loader* L, struct evhttp_request* req)
{
	const char* uri = evhttp_request_get_uri(req);
	struct order_entry* e;
	if(strncmp(uri, "/orders/", 8) != 0) return 0;
	if(!L->orders || !(e = find(L->orders, uri + 8))) {
		evhttp_send_error(req, 404, "no such order");
		return 1;
	}
	reply_json(req, 200, entry_json(e));
	return 1;
}
