/* SPDX-License-Identifier: MIT */
/*
 * --header-ports LIST: local TCP ports whose responses get the X-Energy-Score header, as a
 * 65536-bit set (the layout requests.bpf.c reads: bit p of word p / 64).
 *
 *   header_ports_parse("80,8000-8099", bits, &why)
 *
 * LIST is comma-separated ports (1..65535) and ranges LOW-HIGH (LOW <= HIGH); no spaces,
 * no empty items. Returns 0, or -EINVAL with *why saying what is wrong (bits then
 * undefined). Pure: no I/O.
 */
#ifndef COLLECTOR_HEADER_PORTS_H
#define COLLECTOR_HEADER_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#define HEADER_PORT_WORDS 1024

int header_ports_parse(const char *list, uint64_t bits[HEADER_PORT_WORDS], const char **why);
bool header_ports_has(const uint64_t bits[HEADER_PORT_WORDS], unsigned port);

#endif
