/*
 * tools/audit_read.c - Frame Streams files of dnstap audit records.
 *
 * \file
 * See audit.h.  The frames are parsed by libfstrm's reader
 * (fstrm_reader_init); its input is an fstrm_rdwr of our own over a stdio
 * stream instead of fstrm_file_reader_init's, for three reasons:
 * fstrm's file reader cannot read standard input, it reports a frame cut
 * short by the end of the file as a clean end of stream (a truncated
 * capture would pass silently), and it keeps no byte offset for error
 * messages.
 */
#include "config.h"
#include "tools/audit.h"
#include <errno.h>
#include <fstrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** largest data frame accepted: a dnstap message holds two DNS messages
 * of at most 64 KiB each plus a few small fields */
#define IG_AUDIT_MAX_FRAME (256 * 1024)

/** an open Frame Streams file */
struct ig_audit_reader {
	/** the stream */
	FILE* fp;
	/** 1 when fp is ours to close (not stdin) */
	int own;
	/** bytes consumed so far */
	uint64_t offset;
	/** offset where the last data frame started */
	uint64_t frame_offset;
	/** data frames returned */
	unsigned long frame;
	/** a read ended inside a frame */
	int truncated;
	/** errno of a read error, 0 if none */
	int io_errno;
	/** 1 after the STOP frame */
	int stopped;
	/** libfstrm's reader */
	struct fstrm_reader* fr;
};

/** fstrm_rdwr read method: exactly count bytes, or stop/failure */
static fstrm_res
rdwr_read(void* obj, void* data, size_t count)
{
	struct ig_audit_reader* r = (struct ig_audit_reader*)obj;
	size_t n = fread(data, 1, count, r->fp);
	r->offset += n;
	if(n == count)
		return fstrm_res_success;
	if(ferror(r->fp)) {
		r->io_errno = errno ? errno : EIO;
		return fstrm_res_failure;
	}
	if(n == 0)
		return fstrm_res_stop;
	r->truncated = 1;
	return fstrm_res_failure;
}

/** fstrm_rdwr open/close/destroy methods: the stream is managed here */
static fstrm_res
rdwr_nop(void* obj)
{
	(void)obj;
	return fstrm_res_success;
}

/** the reason a read or open failed, from what the rdwr saw */
static void
fail_reason(struct ig_audit_reader* r, const char* what, char* err,
	size_t errlen)
{
	if(r->io_errno)
		snprintf(err, errlen, "%s: read error: %s", what,
			strerror(r->io_errno));
	else if(r->truncated)
		snprintf(err, errlen, "%s: truncated (the file ends inside "
			"the frame, at byte %llu)", what,
			(unsigned long long)r->offset);
	else snprintf(err, errlen, "%s: corrupt (bad frame length or "
		"control frame near byte %llu)", what,
		(unsigned long long)r->offset);
}

/** check the content type of the START frame */
static int
check_content_type(struct ig_audit_reader* r, char* err, size_t errlen)
{
	const struct fstrm_control* c;
	const uint8_t* ct;
	size_t n = 0, ctlen;
	if(fstrm_reader_get_control(r->fr, FSTRM_CONTROL_START, &c) !=
		fstrm_res_success || !c)
		return 1;
	if(fstrm_control_get_num_field_content_type(c, &n) !=
		fstrm_res_success || n == 0)
		return 1;
	if(fstrm_control_match_field_content_type(c,
		(const uint8_t*)IG_DNSTAP_CONTENT_TYPE,
		strlen(IG_DNSTAP_CONTENT_TYPE)) == fstrm_res_success)
		return 1;
	if(fstrm_control_get_field_content_type(c, 0, &ct, &ctlen) !=
		fstrm_res_success)
		ctlen = 0;
	snprintf(err, errlen, "content type is '%.*s', not "
		IG_DNSTAP_CONTENT_TYPE, (int)(ctlen > 200 ? 200 : ctlen),
		ctlen ? (const char*)ct : "");
	return 0;
}

struct ig_audit_reader*
ig_audit_reader_open(const char* path, char* err, size_t errlen)
{
	struct ig_audit_reader* r = calloc(1, sizeof(*r));
	struct fstrm_reader_options* ropt;
	struct fstrm_rdwr* rdwr;
	if(!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if(strcmp(path, "-") == 0) {
		r->fp = stdin;
	} else {
		r->fp = fopen(path, "rb");
		if(!r->fp) {
			snprintf(err, errlen, "cannot open: %s",
				strerror(errno));
			free(r);
			return NULL;
		}
		r->own = 1;
	}
	rdwr = fstrm_rdwr_init(r);
	fstrm_rdwr_set_open(rdwr, rdwr_nop);
	fstrm_rdwr_set_close(rdwr, rdwr_nop);
	fstrm_rdwr_set_destroy(rdwr, rdwr_nop);
	fstrm_rdwr_set_read(rdwr, rdwr_read);
	/* no content type in the options: the START frame's is checked
	 * below, to say what it was */
	ropt = fstrm_reader_options_init();
	fstrm_reader_options_set_max_frame_size(ropt, IG_AUDIT_MAX_FRAME);
	r->fr = fstrm_reader_init(ropt, &rdwr);
	fstrm_reader_options_destroy(&ropt);
	if(!r->fr) {
		if(rdwr) fstrm_rdwr_destroy(&rdwr);
		snprintf(err, errlen, "cannot start the Frame Streams reader");
		ig_audit_reader_close(r);
		return NULL;
	}
	if(fstrm_reader_open(r->fr) != fstrm_res_success) {
		if(r->offset == 0 && !r->io_errno)
			snprintf(err, errlen, "empty file, not a Frame Streams "
				"file");
		else if(r->io_errno || r->truncated)
			fail_reason(r, "START frame", err, errlen);
		else snprintf(err, errlen, "not a Frame Streams file (no "
			"valid START frame)");
		ig_audit_reader_close(r);
		return NULL;
	}
	if(!check_content_type(r, err, errlen)) {
		ig_audit_reader_close(r);
		return NULL;
	}
	return r;
}

int
ig_audit_reader_next(struct ig_audit_reader* r, const uint8_t** data,
	size_t* len, char* err, size_t errlen)
{
	fstrm_res res;
	uint64_t start = r->offset;
	char what[96];
	if(r->stopped)
		return 0;
	/* libfstrm (0.6) reports success without setting data or length
	 * for a data frame longer than the maximum frame size (its reader
	 * then stays failed): never hand the caller what it did not set.  A
	 * data frame it did read has a length of at least 1 (0 marks a
	 * control frame), so no data means that frame. */
	*data = NULL;
	*len = 0;
	res = fstrm_reader_read(r->fr, data, len);
	if(res == fstrm_res_success && (*data == NULL || *len == 0)) {
		snprintf(err, errlen, "frame %lu (byte offset %llu): corrupt "
			"(a frame length over the limit of %d bytes)",
			r->frame + 1, (unsigned long long)start,
			IG_AUDIT_MAX_FRAME);
		return -1;
	}
	if(res == fstrm_res_success) {
		r->frame++;
		/* a data frame is its 4-byte length and the payload; control
		 * frames read in the same call come before it */
		r->frame_offset = r->offset - *len - 4;
		return 1;
	}
	if(res == fstrm_res_stop && !r->truncated && !r->io_errno) {
		const struct fstrm_control* c = NULL;
		if(fstrm_reader_get_control(r->fr, FSTRM_CONTROL_STOP, &c) ==
			fstrm_res_success && c)
			r->stopped = 1;
		return 0;
	}
	snprintf(what, sizeof(what), "frame %lu (byte offset %llu)",
		r->frame + 1, (unsigned long long)start);
	fail_reason(r, what, err, errlen);
	return -1;
}

unsigned long
ig_audit_reader_frame(const struct ig_audit_reader* r)
{
	return r->frame;
}

uint64_t
ig_audit_reader_offset(const struct ig_audit_reader* r)
{
	return r->frame_offset;
}

int
ig_audit_reader_stopped(const struct ig_audit_reader* r)
{
	return r->stopped;
}

void
ig_audit_reader_close(struct ig_audit_reader* r)
{
	if(!r) return;
	if(r->fr) fstrm_reader_destroy(&r->fr);
	if(r->own && r->fp) fclose(r->fp);
	free(r);
}

int
ig_audit_scan(const char* prog, const char* path, ig_audit_fn fn,
	void* arg, unsigned long* nrec)
{
	struct ig_audit_reader* r;
	struct ig_audit_rec rec;
	const uint8_t* data;
	const char* why;
	char err[512];
	size_t len;
	int rc = 0, n;
	const char* name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	r = ig_audit_reader_open(path, err, sizeof(err));
	if(!r) {
		fprintf(stderr, "%s: %s: %s\n", prog, name, err);
		return 2;
	}
	while((n = ig_audit_reader_next(r, &data, &len, err,
		sizeof(err))) == 1) {
		int frc;
		if(!ig_audit_decode(data, len, &rec, &why)) {
			fprintf(stderr, "%s: %s: frame %lu (byte offset %llu): "
				"%s\n", prog, name, ig_audit_reader_frame(r),
				(unsigned long long)ig_audit_reader_offset(r),
				why);
			rc = 2;
			continue;
		}
		if(nrec) (*nrec)++;
		if((frc = fn(&rec, arg)) != 0) {
			ig_audit_reader_close(r);
			return frc;
		}
	}
	if(n < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, name, err);
		rc = 2;
	}
	ig_audit_reader_close(r);
	return rc;
}
