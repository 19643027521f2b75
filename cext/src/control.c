/* Control-flow nodes (see mdl_control.h); the jumps themselves are taken by the run
 * loop in engine.c. */
#include "mdl_control.h"

mdl_status mdl_node_cf_label(const mdl_node* node) {
  (void)node;
  return MDL_OK;
}

mdl_status mdl_node_cf_branch(const mdl_node* node) {
  (void)node;
  return MDL_OK;
}

int32_t mdl_cf_branch_taken(const mdl_node* node) {
  const mdl_cf_branch_params* p = (const mdl_cf_branch_params*)node->params;
  if (p->when == MDL_CF_ALWAYS) return 1;
  const int32_t value = *(const uint8_t*)node->in[0] != 0;
  return p->when == MDL_CF_IF_TRUE ? value : !value; /* IF_FALSE, TRAP_IF_FALSE */
}
