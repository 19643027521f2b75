/* microdl: every kernel family.  One header per family. */
#ifndef MDL_KERNELS_H
#define MDL_KERNELS_H

#include "mdl_fully_connected.h"
#include "mdl_copy.h"
#include "mdl_conv.h"
#include "mdl_elementwise.h"
#include "mdl_pooling.h"
#include "mdl_activations.h"
#include "mdl_inplace.h"
#include "mdl_hybrid.h"
#include "mdl_float.h"
#include "mdl_svdf.h"
#include "mdl_compare.h"
#include "mdl_lstm.h"
#include "mdl_chain.h"
#include "mdl_resize.h"
#include "mdl_accumulate.h"
#include "mdl_arith.h"
#include "mdl_control.h"
#include "mdl_binary_s32.h"
/* new kernel families: add one #include line above this comment */

#endif
