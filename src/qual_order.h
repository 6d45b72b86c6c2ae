/* qual_order.h — a caller's conditions run after the row's policy (qual_order.c) */
#ifndef MNL_QUAL_ORDER_H
#define MNL_QUAL_ORDER_H

extern void qual_order_install(void);
extern bool qual_is_strictly_leakproof(Node *qual);

#endif
