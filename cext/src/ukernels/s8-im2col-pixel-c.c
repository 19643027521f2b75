/* s8-im2col-pixel-c: int16 patches of conv_s8_fast, any geometry, one output pixel at a
 * time (mdl_s8_im2col_patch, mdl_ukernels.h), or for 1x1 filters the run of a block
 * along one output row as one widening copy. */
#include "mdl_ukernels.h"

MDL_MULTIVERSION void mdl_s8_im2col_ukernel_pixel__c(const mdl_conv_s8_fast_params* p,
                                                     const int8_t* MDL_RESTRICT input,
                                                     int32_t np, int32_t kp,
                                                     mdl_pixel_pos* q,
                                                     int16_t* MDL_RESTRICT patches) {
  const size_t image_size = (size_t)p->input_h * p->input_w * p->input_c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  if (kp == p->input_c && p->filter_h == 1 && p->filter_w == 1 && p->stride_w == 1 &&
      p->pad_h == 0 && p->pad_w == 0 && q->x + np <= p->output_w) {
    /* 1x1 filter along one output row: the patches are consecutive input pixels. */
    const int8_t* src = input + q->b * image_size +
                        ((size_t)q->y * p->stride_h * p->input_w + q->x) * p->input_c;
    mdl_widen_s8(patches, src, np * kp);
    q->x += np; /* still on the row, or at its end */
    if (q->x == p->output_w) {
      q->x = 0;
      if (++q->y == p->output_h) {
        q->y = 0;
        ++q->b;
      }
    }
    return;
  }
  for (int32_t i = 0; i < np; ++i) {
    mdl_s8_im2col_patch(p, input + (size_t)q->b * image_size, end, q->y, q->x, kp,
                        patches + (size_t)i * kp);
    if (++q->x == p->output_w) {
      q->x = 0;
      if (++q->y == p->output_h) {
        q->y = 0;
        ++q->b;
      }
    }
  }
}
