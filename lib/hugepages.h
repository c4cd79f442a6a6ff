/*
 * lib/hugepages.h - ask glibc's malloc for transparent huge pages.
 *
 * \file
 * The loader and the snapshot-building tools write gigabytes through
 * LMDB, which takes every dirty page of a write transaction from malloc:
 * half a gigabyte of fresh heap per transaction.  Each first touch of a
 * 4 KiB page is a page fault, and on a virtual machine a fault is dear:
 * a profile of a full feed pull put a quarter of the time in them.  glibc
 * (2.35 and later) backs the heap with 2 MiB pages when the tunable
 * glibc.malloc.hugetlb is 1, 512 times fewer faults, but reads tunables
 * only when a program starts; so the program starts itself again with the
 * tunable set.  docs/loader.md has the figures.
 */
#ifndef ICPGUARD_HUGEPAGES_H
#define ICPGUARD_HUGEPAGES_H

/**
 * Run this program again (execv of /proc/self/exe, same argv and pid) with
 * GLIBC_TUNABLES extended by glibc.malloc.hugetlb=1, unless GLIBC_TUNABLES
 * already names that tunable (the operator's choice, 0 included), the
 * kernel's transparent huge pages are off ("never"), or the exec fails; in
 * those cases it returns and the program goes on as it is.
 * Call first thing in main: before threads, open files or output (an exec
 * drops them).  Changes the environment of the process.
 * @param argv: main's argv, passed on unchanged.
 */
void ig_hugepages_reexec(char** argv);

#endif /* ICPGUARD_HUGEPAGES_H */
