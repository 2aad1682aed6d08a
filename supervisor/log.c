#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

static int log_fd = 2;
static int log_lvl = LOG_LVL_WARN;
static bool use_syslog;
static char *log_path;
static char *log_ident; /* openlog keeps the pointer: ours, not the caller's */

static const char *const names[] = { "error", "warn", "info", "debug", "trace" };

int log_level_parse(const char *s)
{
	for (int i = 0; i < (int)ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int facility_code(const char *f)
{
	static const struct {
		const char *n;
		int c;
	} tab[] = {
		{ "kern", LOG_KERN }, { "user", LOG_USER }, { "mail", LOG_MAIL },
		{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH }, { "syslog", LOG_SYSLOG },
		{ "lpr", LOG_LPR }, { "news", LOG_NEWS }, { "uucp", LOG_UUCP }, { "cron", LOG_CRON },
		{ "authpriv", LOG_AUTHPRIV }, { "ftp", LOG_FTP }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (!strcmp(f, tab[i].n))
			return tab[i].c;
	return LOG_DAEMON;
}

void log_reopen(void)
{
	if (!log_path)
		return;
	char *dir = xstrdup(log_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		for (char *p = dir + 1; *p; p++)
			if (*p == '/') {
				*p = 0;
				mkdir(dir, 0755);
				*p = '/';
			}
		mkdir(dir, 0755);
	}
	free(dir);
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd >= 0) {
		if (log_fd > 2)
			close(log_fd);
		log_fd = fd;
	}
}

void log_setup(const char *file, const char *facility, const char *ident, int level)
{
	log_lvl = level;
	free(log_path);
	log_path = NULL;
	if (facility) {
		use_syslog = true;
		char *old = log_ident;
		log_ident = xstrdup(ident ? ident : "lithos");
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility_code(facility));
		free(old);
		return;
	}
	use_syslog = false;
	if (file) {
		log_path = xstrdup(file);
		log_reopen();
	} else {
		if (log_fd > 2)
			close(log_fd);
		log_fd = 2;
	}
}

void log_msg(int level, const char *fmt, ...)
{
	if (level > log_lvl)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (use_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG };
		syslog(prio[level], "%s", msg);
	} else {
		char ts[40];
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		struct tm tm;
		gmtime_r(&now.tv_sec, &tm);
		size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
		dprintf(log_fd, "[%s][%s] %s\n", ts, names[level], msg);
	}
	free(msg);
	errno = saved;
}
