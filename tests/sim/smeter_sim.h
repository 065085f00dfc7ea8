/*
 * smeter_sim.h: peerwatt-sim as a utility smart meter (SML or DSMR P1 on a
 * serial device); see smeter_sim.c.  sim.c's main hands over to it when
 * --listen names a sml: or p1: URL.
 */
#ifndef TESTS_SIM_SMETER_SIM_H
#define TESTS_SIM_SMETER_SIM_H

/* The whole program for --listen sml:...|p1:...; returns an exit code. */
int smsim_main(int argc, char **argv);

#endif
