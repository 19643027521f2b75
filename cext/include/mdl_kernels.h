/* microdl: every kernel family.  One header per family. */
#ifndef MDL_KERNELS_H
#define MDL_KERNELS_H

#include "mdl_fully_connected.h"
/* new kernel families: add one #include line above this comment */

#endif
