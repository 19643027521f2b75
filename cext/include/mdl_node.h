/* microdl: one executable step of a prepared graph.
 *
 * Python's prepare step lowers every TFLite op to one or more nodes.  A node names a
 * kernel entry (`run`), a parameter struct of int32_t fields (`params`, see
 * MDL_DECLARE_PARAMS), and resolved data pointers: inputs (arena tensors, constant
 * weights read in place from the model, or prepare-time arrays such as per-channel
 * multipliers and lookup tables), the output tensor and an arena scratch buffer.
 * Every pointer and size was validated in Python; entries do no validation of their
 * own beyond what is free.
 */
#ifndef MDL_NODE_H
#define MDL_NODE_H

#include "mdl_types.h"

#define MDL_MAX_NODE_INPUTS 8

struct mdl_node;
typedef mdl_status (*mdl_node_fn)(const struct mdl_node* node);

typedef struct mdl_node {
  mdl_node_fn run;                         /* kernel entry, e.g. mdl_node_conv_s8 */
  const void* params;                      /* kernel's int32_t parameter struct */
  const void* in[MDL_MAX_NODE_INPUTS];     /* inputs in the order the kernel documents */
  void* out;                               /* output tensor data */
  void* scratch;                           /* arena scratch or NULL */
} mdl_node;

/* One entry of the kernel table (registry.c): name, entry and the parameter field names. */
typedef struct {
  const char* name;
  mdl_node_fn run;
  const char* fields; /* "a,b,c[4]," in struct order */
} mdl_kernel_info;

extern const mdl_kernel_info mdl_kernel_table[];

/* Runs nodes[0..count) in order.  Returns MDL_OK, or the first failing status with its
 * node index in *failed_index.  Never allocates; safe to call without the GIL. */
mdl_status mdl_run_nodes(const mdl_node* nodes, int32_t count, int32_t* failed_index);

#endif /* MDL_NODE_H */
