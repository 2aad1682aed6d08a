/* The tree's metrics under the names of the reference's chapter 6. */
#ifndef LITHOS_TREE_METRICS_H
#define LITHOS_TREE_METRICS_H

#include "tree.h"

int tree_metrics_open(struct tree *t);
/* (Re-)register every group for the current config and commit. */
void tree_metric_setup(struct tree *t);
void tree_metric_started(struct tree *t, const struct child *c);
void tree_metric_died(struct tree *t, const struct child *c, bool failure);
void tree_metric_forget(struct tree *t, const struct child *c);
void tree_metric_restart(struct tree *t); /* master.restarts++ */
void tree_metric_flush(struct tree *t);   /* levels and the Prometheus file */
void tree_metrics_close(struct tree *t);

#endif
