/*
 * tools/icpguard.h - the icpguard command-line tool: shared declarations.
 *
 * \file
 * Each subcommand lives in its own cmd_*.c and has the signature of
 * ig_cmd_fn.  Exit codes: 0 success (explain: pass), 1 failure or a
 * block verdict, 2 usage or input error.
 */
#ifndef ICPGUARD_TOOL_H
#define ICPGUARD_TOOL_H
#include <stdint.h>

/** a subcommand: argc/argv start at the subcommand name */
typedef int (*ig_cmd_fn)(int argc, char** argv);

/** build a snapshot from source files */
int ig_cmd_build(int argc, char** argv);
/** explain a verdict */
int ig_cmd_explain(int argc, char** argv);
/** takedown orders */
int ig_cmd_order(int argc, char** argv);
/** registrar audit */
int ig_cmd_registrar(int argc, char** argv);
/** check the module configuration */
int ig_cmd_checkconf(int argc, char** argv);
/** print a snapshot's identity and counts */
int ig_cmd_info(int argc, char** argv);
/** convert dnstap audit records to JSON lines or CSV */
int ig_cmd_audit(int argc, char** argv);
/** reports from audit records (monthly: seed 003 attachment 1) */
int ig_cmd_report(int argc, char** argv);
/** publish source files as signed feeds (tools/cmd_feed.c) */
int ig_cmd_feed(int argc, char** argv);
/** `zone audit`: the names of zone files the policy would block
 * (tools/cmd_zone.c, built with libzscanner) */
int ig_cmd_zone(int argc, char** argv);

/** the default snapshot path: $ICPGUARD_SNAPSHOT or the built-in one */
const char* ig_default_snapshot(void);

#endif /* ICPGUARD_TOOL_H */
