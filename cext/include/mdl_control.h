/* microdl: control flow (TFLite IF, WHILE, CALL_ONCE) lowered into the flat node
 * list like bytecode (microdl/runtime/controlflow.py).  Two node kinds:
 *
 *  - cf_label: a jump target; does nothing when run.
 *  - cf_branch: a jump.  The run loop (mdl_run_nodes_grouped, cext/src/engine.c)
 *    recognises it by its entry and continues at node `target` instead of the next
 *    node when the jump is taken: always (when = MDL_CF_ALWAYS), or when the first
 *    byte of in[0] (a bool tensor of one element) is 0 (MDL_CF_IF_FALSE) or not 0
 *    (MDL_CF_IF_TRUE).  MDL_CF_TRAP_IF_FALSE: when in[0] is 0 the run stops with
 *    MDL_ERR_UNSET_VARIABLE (READ_VARIABLE of a variable no ASSIGN_VARIABLE has
 *    set yet, which LiteRT refuses at invoke too).  A taken jump to a node at or before itself (a loop's back
 *    edge) counts one loop iteration; more than `max_iterations` of them in one run
 *    stop it with MDL_ERR_LOOP_LIMIT (a hostile WHILE that never ends).
 *
 * Prepare checks every target lies in the node list.  Run on its own (the entry
 * called directly, e.g. a profile of one node) a branch does nothing. */
#ifndef MDL_CONTROL_H
#define MDL_CONTROL_H

#include "mdl_node.h"

#define MDL_CF_ALWAYS 0
#define MDL_CF_IF_FALSE 1
#define MDL_CF_IF_TRUE 2
#define MDL_CF_TRAP_IF_FALSE 3 /* never jumps: stops the run with MDL_ERR_UNSET_VARIABLE */

#define MDL_CF_LABEL_PARAMS(F, A) \
  F(label) /* label id (prepare's; unused at run time) */
MDL_DECLARE_PARAMS(mdl_cf_label_params, MDL_CF_LABEL_PARAMS)

#define MDL_CF_BRANCH_PARAMS(F, A)                                                  \
  F(target)         /* node index to continue at when the jump is taken */          \
  F(when)           /* MDL_CF_ALWAYS, _IF_FALSE, _IF_TRUE or _TRAP_IF_FALSE */      \
  F(max_iterations) /* back edges taken per run before MDL_ERR_LOOP_LIMIT (>= 0) */
MDL_DECLARE_PARAMS(mdl_cf_branch_params, MDL_CF_BRANCH_PARAMS)

/* Node: in = {}. */
mdl_status mdl_node_cf_label(const mdl_node* node);

/* Node: in = {condition: bool[1]} (none for MDL_CF_ALWAYS). */
mdl_status mdl_node_cf_branch(const mdl_node* node);

/* 1 when the branch node is taken (reads its condition byte), else 0. */
int32_t mdl_cf_branch_taken(const mdl_node* node);

#endif
