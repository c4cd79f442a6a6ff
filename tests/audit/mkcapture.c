/*
 * tests/audit/mkcapture.c - write the test capture with libfstrm's file
 * writer.
 *
 * \file
 * usage: mkcapture OUT [--content-type T] [--garbage N]
 * Writes the records of fixture.c as a Frame Streams file (START with the
 * content type, the data frames, STOP), like `fstrm_capture -w` does.
 * --garbage N puts a data frame that is not protobuf before record N.
 */
#include "config.h"
#include "tests/audit/fixture.h"
#include <fstrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char** argv)
{
	struct fstrm_file_options* fopt;
	struct fstrm_writer_options* wopt;
	struct fstrm_writer* w;
	const char* ct = "protobuf:dnstap.Dnstap";
	int garbage = 0, i, rc = 0;
	if(argc < 2) {
		fprintf(stderr, "usage: mkcapture OUT [--content-type T] "
			"[--garbage N]\n");
		return 2;
	}
	for(i = 2; i + 1 < argc; i += 2) {
		if(!strcmp(argv[i], "--content-type")) ct = argv[i + 1];
		else if(!strcmp(argv[i], "--garbage")) garbage = atoi(argv[i+1]);
		else {
			fprintf(stderr, "mkcapture: unknown option %s\n",
				argv[i]);
			return 2;
		}
	}
	fopt = fstrm_file_options_init();
	fstrm_file_options_set_file_path(fopt, argv[1]);
	wopt = fstrm_writer_options_init();
	fstrm_writer_options_add_content_type(wopt, ct, strlen(ct));
	w = fstrm_file_writer_init(fopt, wopt);
	fstrm_file_options_destroy(&fopt);
	fstrm_writer_options_destroy(&wopt);
	if(!w || fstrm_writer_open(w) != fstrm_res_success) {
		fprintf(stderr, "mkcapture: cannot write %s\n", argv[1]);
		return 1;
	}
	for(i = 0; fx_records[i].time; i++) {
		uint8_t* buf;
		size_t len;
		if(garbage == i + 1) {
			static const uint8_t junk[] = "\xff\xff\xff not protobuf";
			if(fstrm_writer_write(w, junk, sizeof(junk) - 1) !=
				fstrm_res_success) rc = 1;
		}
		if(!(len = fx_pack(&fx_records[i], &buf))) {
			fprintf(stderr, "mkcapture: record %d: cannot pack\n",
				i + 1);
			rc = 1;
			continue;
		}
		if(fstrm_writer_write(w, buf, len) != fstrm_res_success)
			rc = 1;
		free(buf);
	}
	if(fstrm_writer_destroy(&w) != fstrm_res_success) rc = 1;
	return rc;
}
