/* microdl: the invoke loop. */
#include "mdl_node.h"

mdl_status mdl_run_nodes(const mdl_node* nodes, int32_t count, int32_t* failed_index) {
  for (int32_t i = 0; i < count; ++i) {
    const mdl_status status = nodes[i].run(&nodes[i]);
    if (status != MDL_OK) {
      *failed_index = i;
      return status;
    }
  }
  return MDL_OK;
}
