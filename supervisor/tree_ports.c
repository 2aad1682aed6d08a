/* tcp-ports: the tree binds each (host, port) once and every instance gets
 * the same socket at its configured fd, so a port stays bound while its
 * instances restart; `reuse-port: true` gives each start its own socket
 * (and a CRIU restore none: the restored process has its own).  A shared
 * socket is closed when no instance holds it any more. */
#include "tree.h"
#include "log.h"
#include "lxcconf.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int bind_port(const struct tcp_port *o, uint16_t port, char **err)
{
	int fam;
	unsigned char a[16];
	if (ip_parse(o->host, &fam, a) < 0) {
		*err = xasprintf("bad host %s", o->host);
		return -1;
	}
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	if (o->reuse_addr)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->reuse_port)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a, 16);
		len = sizeof(*s6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, (int)(o->listen_backlog ? o->listen_backlog : 128)) < 0) {
		*err = xasprintf("cannot listen on %s:%u: %s", o->host, port, strerror(errno));
		close(fd);
		return -1;
	}
	if (o->set_non_block)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int ports_acquire(struct tree *t, struct child *c, const struct want *w, bool restoring,
		  int **fds_out, uint32_t **child_fds_out, size_t *n_out)
{
	size_t n = w->in.n_ports;
	int *fds = xcalloc(n ? n : 1, sizeof(int));
	uint32_t *cfds = xcalloc(n ? n : 1, sizeof(uint32_t));
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		const struct inst_port *ip = &w->in.ports[i];
		const struct tcp_port *o = ip->opts;
		char *err = NULL;
		/* external: false in a bridged sandbox: lithos_init binds it
		 * in the container's network namespace */
		if (lxcconf_port_internal(&w->in, ip))
			continue;
		/* a restored process has its own socket of the port in CRIU's
		 * images (bound again with SO_REUSEPORT by CRIU); one bound
		 * here too would take a share of the connections that nothing
		 * accepts (lithos_knot does not pass fds on a restore) */
		if (o->reuse_port && restoring)
			continue;
		size_t i_out = used++;
		cfds[i_out] = ip->fd;
		if (o->reuse_port) {
			fds[i_out] = bind_port(o, ip->port, &err);
			if (fds[i_out] < 0) {
				log_error("Cannot start %s: %s", w->name, err);
				free(err);
				goto fail;
			}
			VEC_PUSH(c->own_socks, c->n_own_socks, fds[i_out]);
			continue;
		}
		char *key = xasprintf("%s:%u", o->host, ip->port);
		struct port_sock *ps = NULL;
		for (size_t k = 0; k < t->n_ports; k++)
			if (!strcmp(t->ports[k].key, key))
				ps = &t->ports[k];
		if (!ps) {
			int fd = bind_port(o, ip->port, &err);
			if (fd < 0) {
				log_error("Cannot start %s: %s", w->name, err);
				free(err);
				free(key);
				goto fail;
			}
			struct port_sock nps = { xstrdup(key), fd, 0, false };
			VEC_PUSH(t->ports, t->n_ports, nps);
			ps = &t->ports[t->n_ports - 1];
			log_info("Listening on %s for %s", key, w->name);
		}
		ps->refs++;
		fds[i_out] = ps->fd;
		VEC_PUSH(c->shared_keys, c->n_shared_keys, key);
	}
	*fds_out = fds;
	*child_fds_out = cfds;
	*n_out = used;
	return 0;
fail:
	free(fds);
	free(cfds);
	ports_release(t, c);
	return -1;
}

void ports_release(struct tree *t, struct child *c)
{
	for (size_t i = 0; i < c->n_own_socks; i++)
		close(c->own_socks[i]);
	free(c->own_socks);
	c->own_socks = NULL;
	c->n_own_socks = 0;
	for (size_t i = 0; i < c->n_shared_keys; i++) {
		for (size_t k = 0; k < t->n_ports; k++) {
			struct port_sock *ps = &t->ports[k];
			if (strcmp(ps->key, c->shared_keys[i]))
				continue;
			if (ps->refs)
				ps->refs--;
		}
		free(c->shared_keys[i]);
	}
	free(c->shared_keys);
	c->shared_keys = NULL;
	c->n_shared_keys = 0;
}

/* Close shared sockets nobody uses, unless an instance that wants the port
 * is only waiting to restart (a port stays bound while instances restart). */
void ports_gc(struct tree *t);
void ports_gc(struct tree *t)
{
	size_t w = 0;
	for (size_t k = 0; k < t->n_ports; k++) {
		struct port_sock *ps = &t->ports[k];
		bool keep = ps->refs > 0;
		for (size_t i = 0; !keep && i < t->n_wants; i++) {
			const struct want *wt = &t->wants[i];
			for (size_t p = 0; p < wt->in.n_ports; p++) {
				if (lxcconf_port_internal(&wt->in, &wt->in.ports[p]))
					continue;
				char *key = xasprintf("%s:%u", wt->in.ports[p].opts->host, wt->in.ports[p].port);
				if (!strcmp(key, ps->key) && !wt->in.ports[p].opts->reuse_port)
					keep = true;
				free(key);
			}
		}
		if (!keep) {
			log_info("Closing %s: no instance uses it", ps->key);
			close(ps->fd);
			free(ps->key);
			continue;
		}
		t->ports[w++] = *ps;
	}
	t->n_ports = w;
}
