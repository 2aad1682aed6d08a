/* Signalling the running lithos_tree of a runtime directory: what
 * lithos_switch, lithos_restore, lithos_checkpoint and lithos_ps share.
 * Not in translator/: pidfds, /proc/locks and signals are no part of
 * turning configs into lxc.conf. */
#ifndef LITHOS_TREESIGNAL_H
#define LITHOS_TREESIGNAL_H

/* Send `sig` (0: only check) to the lithos_tree of RUNTIME_DIR: the pid
 * in RUNTIME_DIR/master.pid may be stale and reused by anything, so a
 * pidfd of it is opened first, then that pid must hold the lock on
 * master.pid (the tree does while it runs), then the signal goes through
 * the pidfd: to that process or, if it has ended since, to none.  Without
 * pidfds (Linux < 5.3), kill() after the same check.  Returns the pid, or
 * 0 with *why (when not NULL) a malloc'd reason ("no pid", "pid N does
 * not hold its lock: a stale pid file", "pid N: <errno text>"). */
int tree_signal(const char *runtime_dir, int sig, char **why);

#endif
