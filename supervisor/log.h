/* The tree's log: stderr (--log-stderr), syslog (syslog-facility) or the
 * master log file (default-log-dir/log-file), with a level filter.  Messages
 * start with a capital letter and have no trailing punctuation. */
#ifndef LITHOS_LOG_H
#define LITHOS_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
};

int log_level_parse(const char *s);
/* file: path of the log file, NULL for stderr; facility: syslog facility
 * name or NULL; ident: syslog name. */
void log_setup(const char *file, const char *facility, const char *ident, int level);
void log_reopen(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
