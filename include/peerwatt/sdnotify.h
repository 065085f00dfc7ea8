/*
 * sdnotify.h: the systemd readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram to the unix socket named by $NOTIFY_SOCKET.
 *
 * The daemons (peerwatt-exchange, peerwatt-agent) send "READY=1" once their
 * sockets are bound and the database is open, "RELOADING=1" ... "READY=1"
 * around a SIGHUP reload, and "STOPPING=1" when they begin a graceful stop;
 * the units in config/ use Type=notify.  Without $NOTIFY_SOCKET (not started by
 * systemd) every call is a successful no-op.  Thread-safe (no state; reads
 * the environment only).
 */
#ifndef PEERWATT_SDNOTIFY_H
#define PEERWATT_SDNOTIFY_H

#include "peerwatt/error.h"

/*
 * Send `state` (e.g. "READY=1\nSTATUS=serving") to systemd.  PW_OK when
 * sent or when $NOTIFY_SOCKET is unset; PW_ERR_ARG for a malformed socket
 * name (neither "/path" nor "@abstract", or too long); PW_ERR_IO when the
 * datagram cannot be sent.  Callers normally log a failure and go on.
 */
pw_err pw_sd_notify(const char *state) __attribute__((warn_unused_result));

#endif
